"""tickets count their transfers (transfer, redispatch, reassignment after a lapsed window) for the reports

Revision ID: c4e8a2f6b0d9
Revises: e6a3c9d2f8b4
Create Date: 2026-12-05 11:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c4e8a2f6b0d9'
down_revision = 'e6a3c9d2f8b4'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('tickets', sa.Column('transfer_count', sa.Integer(), nullable=False, server_default='0'))
    # counted from the history written before (app.tickets.models.is_transfer)
    if op.get_bind().dialect.name == 'postgresql':
        reassign = "h.detail ->> 'task' = 'reassign_ticket'"
    else:
        reassign = "json_extract(h.detail, '$.task') = 'reassign_ticket'"
    op.execute("UPDATE tickets SET transfer_count = (SELECT count(*) FROM ticket_history h WHERE h.ticket_id = tickets.id "
               f"AND (h.action IN ('transferred', 'redispatched') OR (h.action = 'task_completed' AND {reassign})))")


def downgrade():
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('transfer_count')
