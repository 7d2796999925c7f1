"""dispatch: users' away flag, the ticket's first receiver (owner) and their confirmation, the pool's index

Revision ID: a9c4e2f7d1b6
Revises: b3f1c7a9e2d4
Create Date: 2026-12-04 19:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a9c4e2f7d1b6'
down_revision = 'b3f1c7a9e2d4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('away', sa.Boolean(), nullable=False, server_default=sa.false()))
    # plain ADD COLUMN: a batch copy of tickets fails while other tables reference it
    op.execute('ALTER TABLE tickets ADD COLUMN owner_id INTEGER CONSTRAINT fk_tickets_owner_id REFERENCES users (id)')
    op.add_column('tickets', sa.Column('owner_confirmed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_tickets_owner_id', 'tickets', ['owner_id'])
    op.create_index('ix_tickets_pool', 'tickets', ['accepted_at', 'closed_at', 'id'])
    # tickets accepted before: the first receiver is whoever completed their first acceptance
    op.execute(
        "UPDATE tickets SET owner_id = (SELECT h.completed_by_id FROM human_tasks h WHERE h.ticket_id = tickets.id "
        "AND h.name = 'accept_ticket' AND h.state = 'completed' ORDER BY h.completed_at, h.id LIMIT 1) "
        "WHERE accepted_at IS NOT NULL"
    )


def downgrade():
    op.drop_index('ix_tickets_pool', table_name='tickets')
    op.drop_index('ix_tickets_owner_id', table_name='tickets')
    for column in ('owner_confirmed_at', 'owner_id'):
        op.execute(f'ALTER TABLE tickets DROP COLUMN {column}')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('away')
