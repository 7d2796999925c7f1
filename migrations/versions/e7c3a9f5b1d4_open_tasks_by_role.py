"""open tasks by role in creation order (a partial index over open tasks only), for the supervisor's escalation
page: it lists every open supervisor task, claimed or not, oldest first, and read all open tasks of the desk
through the index on (state, due_at) to find them

Revision ID: e7c3a9f5b1d4
Revises: d5b9f3a7c1e6
Create Date: 2026-12-07 03:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'e7c3a9f5b1d4'
down_revision = 'd5b9f3a7c1e6'
branch_labels = None
depends_on = None

OPEN = "state = 'open'"


def upgrade():
    op.create_index('ix_human_tasks_open_by_role', 'human_tasks', ['role', 'created_at'],
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade():
    op.drop_index('ix_human_tasks_open_by_role', table_name='human_tasks')
