"""business calendars (working hours with breaks, holidays, make-up working days), the clock's pauses and the
windows deadlines were set from; the default calendar is seeded with China's holidays of this and next year

Revision ID: b3f1c7a9e2d4
Revises: f2b8d4a6c1e3
Create Date: 2026-12-04 19:00:00

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3f1c7a9e2d4'
down_revision = 'f2b8d4a6c1e3'
branch_labels = None
depends_on = None


def upgrade():
    calendars = op.create_table('business_calendars',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_calendars')),
    sa.UniqueConstraint('code', name=op.f('uq_business_calendars_code'))
    )
    periods = op.create_table('calendar_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_minute', sa.Integer(), nullable=False),
    sa.Column('end_minute', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['business_calendars.id'], name=op.f('fk_calendar_periods_calendar_id_business_calendars')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_periods'))
    )
    op.create_index(op.f('ix_calendar_periods_calendar_id'), 'calendar_periods', ['calendar_id'], unique=False)
    days = op.create_table('calendar_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['business_calendars.id'], name=op.f('fk_calendar_days_calendar_id_business_calendars')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_days')),
    sa.UniqueConstraint('calendar_id', 'day', name='uq_calendar_days_day')
    )
    op.create_table('clock_pauses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_seconds', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_clock_pauses_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clock_pauses'))
    )
    op.create_index(op.f('ix_clock_pauses_ticket_id'), 'clock_pauses', ['ticket_id'], unique=False)
    op.create_table('sla_windows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('variable', sa.String(length=64), nullable=False),
    sa.Column('calendar_code', sa.String(length=32), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('working_us', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_sla_windows_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_windows')),
    sa.UniqueConstraint('ticket_id', 'variable', name='uq_sla_windows_ticket_variable')
    )
    op.create_index(op.f('ix_sla_windows_calendar_code'), 'sla_windows', ['calendar_code'], unique=False)
    _seed_default(calendars, periods, days)


def _seed_default(calendars, periods, days):
    """The default calendar: Mon-Fri 09:00-12:00 and 13:00-18:00 (lunch 12:00-13:00), with China's holidays and
    make-up working days of this year and the next from the pinned holidays package."""
    from app.calendar.holidays_cn import chinese_days, default_years

    stamp = datetime.now(timezone.utc)
    calendar_id = op.get_bind().execute(calendars.insert().values(
        code="default", name="中国标准工作日历", version=1, updated_at=stamp)).inserted_primary_key[0]
    op.bulk_insert(periods, [{"calendar_id": calendar_id, "weekday": w, "start_minute": s, "end_minute": e}
                             for w in range(5) for s, e in ((9 * 60, 12 * 60), (13 * 60, 18 * 60))])
    op.bulk_insert(days, [{"calendar_id": calendar_id, "day": d, "kind": k, "name": n}
                          for d, k, n in chinese_days(default_years(stamp.date()))])


def downgrade():
    op.drop_index(op.f('ix_sla_windows_calendar_code'), table_name='sla_windows')
    op.drop_table('sla_windows')
    op.drop_index(op.f('ix_clock_pauses_ticket_id'), table_name='clock_pauses')
    op.drop_table('clock_pauses')
    op.drop_table('calendar_days')
    op.drop_index(op.f('ix_calendar_periods_calendar_id'), table_name='calendar_periods')
    op.drop_table('calendar_periods')
    op.drop_table('business_calendars')
