"""The shipped quick-response scenarios as a process owner edits them in the studio when a window changes (the
studio deploy runs them first and refuses when one fails)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILE = "quick_response.scenarios.yaml"

# the acceptance window 30 -> 15 minutes: the lapse scenario checks "not yet" at 14 minutes instead of 29
WINDOW_15_EDITS = [("advance: 29 minutes", "advance: 14 minutes")]
# the high urgency's response window 2 hours -> 1 hour (sla_by_urgency.dmn): the deadlines one hour earlier, and the
# escalation scenario reassigns before the hour is up
HIGH_RESPONSE_1H_EDITS = [
    ('response_due: "2025-03-03T11:00:00+08:00"', 'response_due: "2025-03-03T10:00:00+08:00"'),
    ('response_due: "2025-03-03T12:00:00+08:00"', 'response_due: "2025-03-03T11:00:00+08:00"'),
    ("advance: 80 minutes", "advance: 20 minutes"),
    ("11:00:01", "10:00:01"),
]


def shipped_scenarios():
    return (ROOT / "workflows" / FILE).read_text(encoding="utf-8")


def edited(edits, text=None):
    """The shipped scenario text with each (old, new) edit made; each old text occurs exactly once."""
    text = shipped_scenarios() if text is None else text
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def save(owner, text):
    """Save `text` as the draft scenarios of quick_response through the studio endpoint."""
    response = owner.put("/studio/quick_response/scenarios", json={"scenarios": {FILE: text}})
    assert response.status_code == 200, response.get_json()
    return response
