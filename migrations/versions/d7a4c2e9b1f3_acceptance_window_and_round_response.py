"""acceptance window and the current round's response time on tickets

Revision ID: d7a4c2e9b1f3
Revises: c5e1a9d3f7b2
Create Date: 2026-12-04 18:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd7a4c2e9b1f3'
down_revision = 'c5e1a9d3f7b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accept_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True))
    # until now the (only) response was the acceptance
    op.execute("UPDATE tickets SET responded_at = accepted_at WHERE accepted_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('responded_at')
        batch_op.drop_column('accept_due_at')
