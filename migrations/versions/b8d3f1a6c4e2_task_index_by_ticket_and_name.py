"""a ticket's tasks are indexed by (ticket_id, name, created_at): the latest task of a name (its previous holder,
an open task of that name) is one index read however many rounds the ticket took; the index on instance_id alone
goes (the index (instance_id, state) serves it)

Revision ID: b8d3f1a6c4e2
Revises: a9c4e7b2d5f1
Create Date: 2026-12-06 21:30:00

"""
from alembic import op


revision = 'b8d3f1a6c4e2'
down_revision = 'a9c4e7b2d5f1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_human_tasks_ticket_name', 'human_tasks', ['ticket_id', 'name', 'created_at'])
    op.drop_index('ix_human_tasks_ticket_id', table_name='human_tasks')
    op.drop_index('ix_human_tasks_instance_id', table_name='human_tasks')


def downgrade():
    op.create_index('ix_human_tasks_instance_id', 'human_tasks', ['instance_id'])
    op.create_index('ix_human_tasks_ticket_id', 'human_tasks', ['ticket_id'])
    op.drop_index('ix_human_tasks_ticket_name', table_name='human_tasks')
