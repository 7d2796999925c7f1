"""The live diagram's pages: a version's heatmap in the studio (process owners, admins) and the JSON a ticket
page's diagram reads (anyone who may see the ticket). Each view calls one function of studio.live."""
from flask import jsonify, render_template, url_for

from app.i18n import _
from app.web import web_bp
from app.web.auth import me

from . import live
from .pages import json_endpoint
from .service import require_owner, version_of


def live_messages():
    """The labels the live diagram scripts show, in the page's language."""
    return {
        "loading": _("Loading the diagram…"),
        "loadFailed": _("The diagram could not be opened: {error}"),
        "waiting": _("{n} waiting"),
        "average": _("average {minutes} min"),
        "overdue": _("{n} overdue"),
        "summary": _("{waiting} open tickets wait in this version, {overdue} past their deadline (as of {at})."),
        "done": _("completed {n}×"),
        "here": _("waiting here"),
        "noDiagram": _("This ticket runs no process."),
    }


@web_bp.get("/studio/<name>/versions/<int:version>/live")
def studio_live(name, version):
    user = me()
    require_owner(user)
    version_of(name, version)
    config = {"url": url_for("web.studio_heatmap", name=name, version=version), "messages": live_messages()}
    return render_template("studio/live.html", name=name, version=version, config=config)


@web_bp.get("/studio/<name>/versions/<int:version>/heatmap")
@json_endpoint
def studio_heatmap(name, version):
    return jsonify(live.heatmap(me(), name, version))


@web_bp.get("/tickets/<number>/diagram")
@json_endpoint
def ticket_diagram(number):
    me()
    return jsonify(live.ticket_path(number))
