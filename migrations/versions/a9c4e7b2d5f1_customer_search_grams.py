"""customer search on PostgreSQL: a GIN index over each customer's two-character pieces as an array (an expression
index over the function customer_search_grams), so the customers having several pieces are found in one statement

Revision ID: a9c4e7b2d5f1
Revises: f4d9b2c7e1a3
Create Date: 2026-12-06 03:20:00

"""
from alembic import op

from app.customers import search_schema

# revision identifiers, used by Alembic.
revision = 'a9c4e7b2d5f1'
down_revision = 'f4d9b2c7e1a3'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        for statement in search_schema.PG_GRAMS:
            bind.exec_driver_sql(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'DROP INDEX IF EXISTS {search_schema.GRAMS_INDEX}')
        op.execute(f'DROP FUNCTION IF EXISTS {search_schema.GRAMS}(text, text, text, text)')
