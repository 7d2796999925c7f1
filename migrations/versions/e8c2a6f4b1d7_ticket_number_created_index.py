"""an index (number, created_at): the creation range of a ticket-number prefix is read from the index alone

Revision ID: e8c2a6f4b1d7
Revises: d2f6b8a4c0e3
Create Date: 2026-12-05 13:00:00

"""
from alembic import op


revision = 'e8c2a6f4b1d7'
down_revision = 'd2f6b8a4c0e3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_tickets_number_created', 'tickets', ['number', 'created_at'])


def downgrade():
    op.drop_index('ix_tickets_number_created', table_name='tickets')
