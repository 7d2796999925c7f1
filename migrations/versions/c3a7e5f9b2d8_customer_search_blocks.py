"""customer search: on SQLite the two-character pieces also as bit masks per block of 64 customers
(customer_search_blocks, kept from the bigram table by triggers), so several pieces at once are their blocks joined
and ANDed; on both databases a customer's pieces are deleted by its old values' pieces (by customer id alone the
delete read the whole bigram table: 1.2 s a customer edit at a million customers)

Revision ID: c3a7e5f9b2d8
Revises: b8d3f1a6c4e2
Create Date: 2026-12-06 23:00:00

"""
from alembic import op

from app.customers import search_schema

revision = 'c3a7e5f9b2d8'
down_revision = 'b8d3f1a6c4e2'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    search_schema._EXISTS.clear()
    if bind.dialect.name in ('sqlite', 'postgresql') and search_schema._has_table(bind, search_schema.BIGRAMS):
        if bind.dialect.name == 'sqlite':
            search_schema.install_blocks(bind)
        search_schema.replace_bigram_triggers(bind)
    search_schema._EXISTS.clear()


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for trigger in search_schema.BLOCK_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {trigger}')
        op.execute(f'DROP TABLE IF EXISTS {search_schema.BLOCKS}')
    search_schema._EXISTS.clear()
