"""search indexes: two-character pieces of customers (bigram table and triggers); ticket search by date, customer
and status, newest first

Revision ID: d7f3b8e2a941
Revises: d7a41c9e0b35
Create Date: 2026-12-04 18:10:00

"""
from alembic import op

from app.customers import search_index

# revision identifiers, used by Alembic.
revision = 'd7f3b8e2a941'
down_revision = 'd7a41c9e0b35'
branch_labels = None
depends_on = None

REPLACED = (('ix_tickets_created_at', ['created_at'], 'ix_tickets_created', ['created_at', 'id']),
            ('ix_tickets_customer_id', ['customer_id'], 'ix_tickets_customer_created', ['customer_id', 'created_at', 'id']),
            ('ix_tickets_status', ['status'], 'ix_tickets_status_created', ['status', 'created_at', 'id']))


def upgrade():
    for old, _old_columns, new, columns in REPLACED:
        op.create_index(new, 'tickets', columns, unique=False)
        op.drop_index(old, table_name='tickets')
    search_index.install(op.get_bind())  # adds the two-character index beside the trigram one


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        for trigger in search_index.BIGRAM_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {trigger}')
        op.execute(f'DROP TABLE IF EXISTS {search_index.POSITIONS}')
    else:
        op.execute(f'DROP TRIGGER IF EXISTS {search_index.BIGRAM_TRIGGERS[0]} ON customers')
        op.execute(f'DROP FUNCTION IF EXISTS {search_index.BIGRAM_FUNCTION}()')
    op.execute(f'DROP TABLE IF EXISTS {search_index.BIGRAMS}')
    for old, old_columns, new, _columns in REPLACED:
        op.create_index(old, 'tickets', old_columns, unique=False)
        op.drop_index(new, table_name='tickets')
