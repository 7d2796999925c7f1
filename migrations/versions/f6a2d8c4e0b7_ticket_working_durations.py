"""tickets keep the working time to their first response and to their resolution (for the reports)

Revision ID: f6a2d8c4e0b7
Revises: e1d7c3a9f5b2
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f6a2d8c4e0b7'
down_revision = 'e1d7c3a9f5b2'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('tickets', sa.Column('response_working_seconds', sa.Integer(), nullable=True))
    op.add_column('tickets', sa.Column('resolution_working_seconds', sa.Integer(), nullable=True))
    # tickets answered before: their wall-clock durations (the calendar and pauses of the time are not replayed)
    if op.get_bind().dialect.name == 'postgresql':
        seconds = "CAST(EXTRACT(EPOCH FROM ({b} - created_at)) AS INTEGER)"
    else:
        seconds = "CAST((julianday({b}) - julianday(created_at)) * 86400 AS INTEGER)"
    op.execute(f"UPDATE tickets SET response_working_seconds = {seconds.format(b='first_responded_at')} "
               "WHERE first_responded_at IS NOT NULL")
    op.execute(f"UPDATE tickets SET resolution_working_seconds = {seconds.format(b='resolved_at')} "
               "WHERE resolved_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('resolution_working_seconds')
        batch.drop_column('response_working_seconds')
