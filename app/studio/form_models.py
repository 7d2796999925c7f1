"""The form editor's table: a saved-but-not-deployed draft per form file."""
from app.clock import now
from app.extensions import db


class StudioFormDraft(db.Model):
    """The text of form `filename` (forms/*.json) as a process owner saved it in the form editor and has not
    deployed yet (one row per form). `text` is the JSON Schema as typed (always a JSON object; whether it is a valid
    form is checked by the deploy)."""

    __tablename__ = "studio_form_drafts"
    filename = db.Column(db.String(200), primary_key=True)
    text = db.Column(db.Text, nullable=False)
    saved_by = db.Column(db.String(64), nullable=False)
    saved_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)
