"""acceptance window and the current round's response time on tickets

Revision ID: d7a4c2e9b1f3
Revises: d4b8f2a61c09
Create Date: 2026-12-04 18:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd7a4c2e9b1f3'
down_revision = 'd4b8f2a61c09'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accept_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True))
    # until now the (only) response was the acceptance
    op.execute("UPDATE tickets SET responded_at = accepted_at WHERE accepted_at IS NOT NULL")
    # tickets waiting for acceptance: the window of their pending accept timer
    op.execute(
        "UPDATE tickets SET accept_due_at = (SELECT MIN(timers.due_at) FROM timers "
        "WHERE timers.instance_id = tickets.process_instance_id AND timers.name = 'accept_timeout') "
        "WHERE accepted_at IS NULL AND closed_at IS NULL"
    )


def downgrade():
    # plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of tickets fails while other tables reference it
    for column in ('responded_at', 'accept_due_at'):
        op.execute(f'ALTER TABLE tickets DROP COLUMN {column}')
