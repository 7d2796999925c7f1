"""On time or breached, per window (response and resolution), from the ticket's deadline and measured columns."""
from app.clock import as_utc, now

OUTCOMES = {
    "on_time": ("按时", "On time"),
    "breached": ("已超时", "Breached"),
    "running": ("计时中", "Running"),
    "paused": ("已暂停（待客户）", "Paused (waiting for the customer)"),
}
# window -> (deadline column, the column of the time that meets it)
WINDOW_COLUMNS = {"response": ("response_due_at", "responded_at"), "resolution": ("resolution_due_at", "resolved_at")}


def outcome(due, met, *, paused=False, at=None):
    """"on_time" / "breached" once met (or once the deadline passed unmet), "running" or "paused" before;
    None without a deadline."""
    if due is None:
        return None
    due = as_utc(due)
    if met is not None:
        return "on_time" if as_utc(met) <= due else "breached"
    if paused:
        return "paused"
    return "breached" if (at or now()) > due else "running"


def window_outcomes(ticket, at=None):
    """{"response": outcome, "resolution": outcome} of a ticket row (or Ticket)."""
    from .sla import pause_statuses

    paused = ticket.status in pause_statuses()
    return {name: outcome(getattr(ticket, due), getattr(ticket, met), paused=paused, at=at)
            for name, (due, met) in WINDOW_COLUMNS.items()}
