"""ticket search by customer words: the two-character pieces of each ticket's customer with the ticket's creation
time (ticket_search_grams, kept by triggers on tickets and customers), so a page of the newest tickets of matching
customers is read newest first from the rarest piece's rows

Revision ID: d5b9f3a7c1e6
Revises: c3a7e5f9b2d8
Create Date: 2026-12-06 23:30:00

"""
from alembic import op

from app.customers import search_schema
from app.tickets import search_grams

revision = 'd5b9f3a7c1e6'
down_revision = 'c3a7e5f9b2d8'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    search_schema._EXISTS.clear()
    if search_schema._has_table(bind, search_schema.BIGRAMS):
        search_grams.install(bind)
    search_schema._EXISTS.clear()


def downgrade():
    search_grams.uninstall(op.get_bind())
