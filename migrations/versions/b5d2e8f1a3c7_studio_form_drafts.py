"""studio: form drafts, one per form file (the form editor)

Revision ID: b5d2e8f1a3c7
Revises: b5d2e8f4a7c3
Create Date: 2026-12-04 21:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b5d2e8f1a3c7'
down_revision = 'b5d2e8f4a7c3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('studio_form_drafts',
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('saved_by', sa.String(length=64), nullable=False),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('filename')
    )


def downgrade():
    op.drop_table('studio_form_drafts')
