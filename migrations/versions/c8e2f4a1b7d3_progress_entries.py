"""progress table: a service request's stages with owner, planned and actual date, progress note, remarks (R3-5)

Revision ID: c8e2f4a1b7d3
Revises: b5d2e8f1a3c7
Create Date: 2026-12-04 21:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c8e2f4a1b7d3'
down_revision = 'b5d2e8f1a3c7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('progress_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=100), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('planned_date', sa.Date(), nullable=False),
    sa.Column('actual_date', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('remarks', sa.String(length=500), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name='fk_progress_entries_ticket_id'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name='fk_progress_entries_owner_id'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name='fk_progress_entries_created_by_id'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name='fk_progress_entries_updated_by_id'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_progress_entries_ticket', 'progress_entries', ['ticket_id', 'planned_date', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_progress_entries_ticket', table_name='progress_entries')
    op.drop_table('progress_entries')
