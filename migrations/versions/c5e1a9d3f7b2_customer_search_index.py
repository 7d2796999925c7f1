"""customer search index: FTS5 trigram table and triggers on SQLite, pg_trgm GIN indexes on PostgreSQL

Revision ID: c5e1a9d3f7b2
Revises: 76e5b2eb4763
Create Date: 2026-12-01 19:05:00

"""
from alembic import op

from app.customers import search_index

# revision identifiers, used by Alembic.
revision = 'c5e1a9d3f7b2'
down_revision = '76e5b2eb4763'
branch_labels = None
depends_on = None


def upgrade():
    search_index.install(op.get_bind())


def downgrade():
    search_index.uninstall(op.get_bind())
