"""A business calendar: weekly working periods (a break such as lunch is the gap between two periods),
dated exceptions (a holiday, or a make-up working day on a weekend) and a version bumped on every edit."""
from app.clock import now
from app.extensions import db

DAY_KINDS = {
    "holiday": ("节假日", "Holiday"),
    "workday": ("调休上班", "Make-up working day"),
}
WEEKDAYS = (("周一", "Monday"), ("周二", "Tuesday"), ("周三", "Wednesday"), ("周四", "Thursday"),
            ("周五", "Friday"), ("周六", "Saturday"), ("周日", "Sunday"))


class BusinessCalendar(db.Model):
    __tablename__ = "business_calendars"
    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(32), unique=True, nullable=False)
    name = db.Column(db.String(100), nullable=False)
    # bumped on every edit: every process compares it with its cached copy (see app/calendar/service.py)
    version = db.Column(db.Integer, nullable=False, default=1)
    updated_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)


class WorkingPeriod(db.Model):
    """One working period of a weekday, in local time (Asia/Shanghai), minutes after midnight."""

    __tablename__ = "calendar_periods"
    id = db.Column(db.Integer, primary_key=True)
    calendar_id = db.Column(db.Integer, db.ForeignKey("business_calendars.id"), nullable=False, index=True)
    weekday = db.Column(db.Integer, nullable=False)  # 0 = Monday … 6 = Sunday
    start_minute = db.Column(db.Integer, nullable=False)
    end_minute = db.Column(db.Integer, nullable=False)


class CalendarDay(db.Model):
    """A dated exception: a holiday (no work) or a make-up working day (the working hours of a Monday)."""

    __tablename__ = "calendar_days"
    __table_args__ = (db.UniqueConstraint("calendar_id", "day", name="uq_calendar_days_day"),)
    id = db.Column(db.Integer, primary_key=True)
    calendar_id = db.Column(db.Integer, db.ForeignKey("business_calendars.id"), nullable=False)
    day = db.Column(db.Date, nullable=False)
    kind = db.Column(db.String(16), nullable=False)  # holiday | workday
    name = db.Column(db.String(100), nullable=False, default="")


class ClockPause(db.Model):
    """A stretch of time a ticket's clock stood still (its status was one that pauses the clock)."""

    __tablename__ = "clock_pauses"
    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id"), nullable=False, index=True)
    status = db.Column(db.String(32), nullable=False)
    started_at = db.Column(db.DateTime(timezone=True), nullable=False)
    ended_at = db.Column(db.DateTime(timezone=True))  # NULL while the pause lasts
    paused_seconds = db.Column(db.Integer)  # working seconds in the ticket's calendar, set when it ends


class SlaWindow(db.Model):
    """How a ticket's working-time deadline was set: from `started_at`, `working_us` of working time in calendar
    `calendar_code` (NULL = the wall clock), the clock's pauses left out. Kept so a calendar edit or a pause can
    compute the deadline again."""

    __tablename__ = "sla_windows"
    __table_args__ = (
        db.UniqueConstraint("ticket_id", "variable", name="uq_sla_windows_ticket_variable"),
        # a calendar edit finds the windows set in it; wall-clock windows (NULL) are not in it
        db.Index("ix_sla_windows_calendar_code", "calendar_code", sqlite_where=db.text("calendar_code IS NOT NULL"),
                 postgresql_where=db.text("calendar_code IS NOT NULL")),
    )
    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id"), nullable=False)
    variable = db.Column(db.String(64), nullable=False)  # the process variable holding the deadline
    calendar_code = db.Column(db.String(32))
    started_at = db.Column(db.DateTime(timezone=True), nullable=False)
    working_us = db.Column(db.BigInteger, nullable=False)
