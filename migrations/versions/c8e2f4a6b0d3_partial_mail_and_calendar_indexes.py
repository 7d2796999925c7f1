"""the index of mail to send and the index of windows by calendar hold only the rows they are read for:
notifications with a mail state (none is NULL without an SMTP server) and SLA windows set in a business calendar
(NULL = the wall clock, the default). Every other row was written to them for nothing: on a ticket's lifecycle
on the default set-up, three notification rows and two window rows, two pages more per commit that writes them.
The readers compare the column with a value (`mail_state = 'pending'`, `calendar_code = :code`), which implies
IS NOT NULL on both databases, so they keep their index

Revision ID: c8e2f4a6b0d3
Revises: a3f8c2d6e9b1
Create Date: 2026-12-07 14:20:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'c8e2f4a6b0d3'
down_revision = 'a3f8c2d6e9b1'
branch_labels = None
depends_on = None

_PARTIAL = (
    ("ix_notifications_mail_due", "notifications", ["mail_state", "mail_next_at"], "mail_state IS NOT NULL"),
    ("ix_sla_windows_calendar_code", "sla_windows", ["calendar_code"], "calendar_code IS NOT NULL"),
)


def upgrade():
    for name, table, columns, where in _PARTIAL:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade():
    for name, table, columns, _where in _PARTIAL:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns)
