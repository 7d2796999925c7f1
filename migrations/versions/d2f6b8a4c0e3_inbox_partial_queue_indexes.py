"""the inbox's queue indexes become partial (unclaimed tasks only), so PostgreSQL reads them in created_at order

PostgreSQL does not treat `assignee_id IS NULL` on a middle index column as fixing the order of the columns after
it, so the queue source of the inbox scanned every open task of the role (75 ms at a million tasks).

Revision ID: d2f6b8a4c0e3
Revises: c4e8a2f6b0d9
Create Date: 2026-12-05 12:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd2f6b8a4c0e3'
down_revision = 'c4e8a2f6b0d9'
branch_labels = None
depends_on = None

UNCLAIMED = "assignee_id IS NULL"
UNROUTED = "assignee_id IS NULL AND department_id IS NULL"


def upgrade():
    op.drop_index('ix_human_tasks_queue', table_name='human_tasks')
    op.drop_index('ix_human_tasks_role_queue', table_name='human_tasks')
    op.create_index('ix_human_tasks_queue', 'human_tasks', ['state', 'role', 'department_id', 'created_at'],
                    sqlite_where=sa.text(UNCLAIMED), postgresql_where=sa.text(UNCLAIMED))
    op.create_index('ix_human_tasks_role_queue', 'human_tasks', ['state', 'role', 'created_at'],
                    sqlite_where=sa.text(UNROUTED), postgresql_where=sa.text(UNROUTED))
    op.create_index('ix_human_tasks_unclaimed', 'human_tasks', ['state', 'role', 'created_at'],
                    sqlite_where=sa.text(UNCLAIMED), postgresql_where=sa.text(UNCLAIMED))


def downgrade():
    op.drop_index('ix_human_tasks_unclaimed', table_name='human_tasks')
    op.drop_index('ix_human_tasks_role_queue', table_name='human_tasks')
    op.drop_index('ix_human_tasks_queue', table_name='human_tasks')
    op.create_index('ix_human_tasks_queue', 'human_tasks', ['state', 'role', 'department_id', 'assignee_id',
                                                            'created_at'])
    op.create_index('ix_human_tasks_role_queue', 'human_tasks', ['state', 'role', 'assignee_id', 'created_at'])
