"""live diagram: the heatmap's aggregate per version reads open task rows and timers of the version's running
instances through these indexes

Revision ID: b5d2e8f4a7c3
Revises: c8e2f4a7b1d3
Create Date: 2026-12-04 21:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b5d2e8f4a7c3'
down_revision = 'c8e2f4a7b1d3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.create_index('ix_process_instances_definition_status', ['definition_id', 'status'], unique=False)
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_human_tasks_instance_state', ['instance_id', 'state'], unique=False)


def downgrade():
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_human_tasks_instance_state')
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_process_instances_definition_status')
