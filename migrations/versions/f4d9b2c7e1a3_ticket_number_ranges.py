"""ticket number ranges: each bucket of ticket numbers (a number without its last three characters) keeps its
oldest and newest creation time, widened by triggers, so a number prefix's creation range is read from a few rows

Revision ID: f4d9b2c7e1a3
Revises: e8c2a6f4b1d7
Create Date: 2026-12-05 19:40:00

"""
from alembic import op

from app.tickets import number_ranges


revision = 'f4d9b2c7e1a3'
down_revision = 'e8c2a6f4b1d7'
branch_labels = None
depends_on = None


def upgrade():
    number_ranges.install(op.get_bind())


def downgrade():
    number_ranges.uninstall(op.get_bind())
