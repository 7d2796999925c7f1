"""studio: a deploy comment and the restored version on process definitions; a roll-back may repeat a content
(the name+hash unique constraint becomes an index); studio drafts, one per process

Revision ID: f3b8d1c6a2e5
Revises: a9c4e2f7d1b6
Create Date: 2026-12-04 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3b8d1c6a2e5'
down_revision = 'a9c4e2f7d1b6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_definitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('restored_from', sa.Integer(), nullable=True))
        batch_op.drop_constraint('uq_process_definitions_name_hash', type_='unique')
        batch_op.create_index('ix_process_definitions_name_hash', ['name', 'content_hash'], unique=False)
    op.create_table('studio_drafts',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('bpmn_xml', sa.Text(), nullable=True),
    sa.Column('dmn_xml', sa.JSON(), nullable=True),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('saved_by', sa.String(length=64), nullable=False),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade():
    op.drop_table('studio_drafts')
    with op.batch_alter_table('process_definitions', schema=None) as batch_op:
        batch_op.drop_index('ix_process_definitions_name_hash')
        batch_op.create_unique_constraint('uq_process_definitions_name_hash', ['name', 'content_hash'])
        batch_op.drop_column('restored_from')
        batch_op.drop_column('comment')
