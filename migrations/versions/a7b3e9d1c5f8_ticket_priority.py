"""tickets keep the priority their flow decided (urgency, service-request priority or P1-P4), for reports

Revision ID: a7b3e9d1c5f8
Revises: f6a2d8c4e0b7
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7b3e9d1c5f8'
down_revision = 'f6a2d8c4e0b7'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('tickets', sa.Column('priority', sa.String(length=16), nullable=True))
    # tickets opened before: their urgency (a running flow sets its decided priority at its next step that sets it)
    op.execute("UPDATE tickets SET priority = urgency")


def downgrade():
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('priority')
