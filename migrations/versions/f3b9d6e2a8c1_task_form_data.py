"""task form data: what a human task's form shows, stored on its row when the task opens

Revision ID: f3b9d6e2a8c1
Revises: d7f3b8e2a941
Create Date: 2026-12-04 19:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f3b9d6e2a8c1'
down_revision = 'd7f3b8e2a941'
branch_labels = None
depends_on = None


def upgrade():
    # NULL for tasks opened before: their form data is read from the engine as before
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_data', sa.Text(), nullable=True))


def downgrade():
    op.execute('ALTER TABLE human_tasks DROP COLUMN form_data')
