"""Dispatch pages: the away switch in the top bar, the supervisors' ticket pool, the first receiver's confirmation."""
from flask import flash, redirect, render_template, request, url_for

from app.auth import service as auth
from app.errors import Conflict
from app.i18n import _
from app.tickets import dispatch
from app.web import web_bp
from app.web.auth import me, safe_next

PAGE = 50


@web_bp.route("/me/away", methods=["POST"])
def set_away():
    """Mark oneself away (away=1) or available (away=0); back to the page the switch was on."""
    raw = request.form.get("away")
    if raw not in ("0", "1"):
        flash(_("Choose away or available."), "error")
    else:
        away = auth.set_away(actor=me(), away=raw == "1")
        flash(_("You are marked away: new tickets go to others.") if away else
              _("You are available again: new tickets may come to you."), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("web.index"))


@web_bp.route("/pool")
def ticket_pool():
    """Open tickets nobody has accepted yet; each links to its redispatch form."""
    after = request.args.get("after", type=int)
    found = dispatch.pool(actor=me(), limit=PAGE, after=after)
    next_url = url_for("web.ticket_pool", after=found[-1].id) if len(found) == PAGE else None
    return render_template("supervisor/pool.html", rows=found, next_url=next_url, first_page=after is None)


@web_bp.route("/tickets/<number>/confirm", methods=["POST"])
def ticket_confirm(number):
    """The first receiver confirms the result (an optional note); anyone else gets 403."""
    note = (request.form.get("note") or "").strip()[:500]
    try:
        dispatch.confirm_result(number=number, actor=me(), note=note)
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.ticket_detail", number=number))
    flash(_("You confirmed the result of ticket %(number)s.", number=number), "success")
    return redirect(url_for("web.ticket_detail", number=number))


@web_bp.app_context_processor
def _dispatch_helpers():
    """`may_confirm_result(ticket)` for the ticket page."""
    return {"may_confirm_result": lambda ticket: dispatch.may_confirm(me(), ticket)}
