"""scenarios with each deployed version and in studio drafts: the scenario texts (file name -> YAML/JSON text) a
version was deployed with, and the ones a process owner edits in the studio (None: not stored / not edited)

Revision ID: b7e2d9c4f1a6
Revises: a7b3e9d1c5f8
Create Date: 2026-12-07 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b7e2d9c4f1a6'
down_revision = 'a7b3e9d1c5f8'
branch_labels = None
depends_on = None


def upgrade():
    # plain ADD COLUMN (nullable): no table copy
    op.add_column('process_definitions', sa.Column('scenarios', sa.JSON(), nullable=True))
    op.add_column('studio_drafts', sa.Column('scenarios', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('studio_drafts', schema=None) as batch_op:
        batch_op.drop_column('scenarios')
    with op.batch_alter_table('process_definitions', schema=None) as batch_op:
        batch_op.drop_column('scenarios')
