"""The studio's table: a saved-but-not-deployed draft per process."""
from app.clock import now
from app.extensions import db


class StudioDraft(db.Model):
    """The diagram and decision tables a process owner saved in the studio and has not deployed yet (one row per
    process). `bpmn_xml` is None when only decision tables were edited; `dmn_xml` maps the edited tables' file
    names to their XML (None: none edited), `scenarios` the edited scenario files' texts (None: none edited). `base_version` is the version the editing started from: a deploy from another place in the meantime is
    noticed (the studio shows it)."""

    __tablename__ = "studio_drafts"
    name = db.Column(db.String(100), primary_key=True)
    bpmn_xml = db.Column(db.Text)
    dmn_xml = db.Column(db.JSON)
    scenarios = db.Column(db.JSON)  # the edited scenario texts (file name -> YAML/JSON); None: not edited
    base_version = db.Column(db.Integer, nullable=False)
    saved_by = db.Column(db.String(64), nullable=False)
    saved_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)
