"""transfers and comments: a ticket's comment area and the record of its transfers (R2-3)

Revision ID: e6a3c9d2f8b4
Revises: b7e2d9c4f1a6
Create Date: 2026-12-06 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e6a3c9d2f8b4'
down_revision = 'b7e2d9c4f1a6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ticket_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name='fk_ticket_comments_ticket_id'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name='fk_ticket_comments_author_id'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_ticket_comments_ticket', 'ticket_comments', ['ticket_id', 'id'], unique=False)
    op.create_table('ticket_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('from_user_id', sa.Integer(), nullable=True),
    sa.Column('from_department_id', sa.Integer(), nullable=True),
    sa.Column('to_department_id', sa.Integer(), nullable=False),
    sa.Column('to_user_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('expected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name='fk_ticket_transfers_ticket_id'),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name='fk_ticket_transfers_from_user_id'),
    sa.ForeignKeyConstraint(['from_department_id'], ['departments.id'], name='fk_ticket_transfers_from_department_id'),
    sa.ForeignKeyConstraint(['to_department_id'], ['departments.id'], name='fk_ticket_transfers_to_department_id'),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name='fk_ticket_transfers_to_user_id'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name='fk_ticket_transfers_created_by_id'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_ticket_transfers_ticket', 'ticket_transfers', ['ticket_id', 'id'], unique=False)
    op.create_index('ix_ticket_transfers_from_user', 'ticket_transfers', ['from_user_id', 'ticket_id'], unique=False)


def downgrade():
    op.drop_index('ix_ticket_transfers_from_user', table_name='ticket_transfers')
    op.drop_index('ix_ticket_transfers_ticket', table_name='ticket_transfers')
    op.drop_table('ticket_transfers')
    op.drop_index('ix_ticket_comments_ticket', table_name='ticket_comments')
    op.drop_table('ticket_comments')
