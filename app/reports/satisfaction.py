"""Satisfaction figures of a ticket set, behind one small interface the report reads.

`distribution(conn, scope)` answers a list of dimensions, each `{"dimension", "title", "scale", "labels",
"counts", "answers", "average"}`: `scale` lists the possible values in order, `labels` maps each to what a person
reads, `counts` maps each value to how many answers gave it, `average` is the mean of a numeric scale (else
None). Two sources:
- the customer's opinion recorded at the feedback step (ticket column `satisfaction`), dimension "opinion";
- the satisfaction survey (R2-5, R3-6): every choice question of the survey form (e.g. attitude, response
  speed, resolution, overall, scored 1-5), counted from `survey_scores` in SQL. The questions, their order and
  titles come from the newest deployed survey form, so seed 003's variant (excellent / good / fair / poor) is a
  form change only; answers to questions an older form had still count.
"""
import re

from flask import current_app
from sqlalchemy import exists, func, literal, select

from app.engine import latest_definition_id
from app.i18n import _, _l
from app.surveys.models import SurveyScore
from app.surveys.scores import dimension_labels
from app.surveys.service import FORM_NAME, PROCESS_NAME

from .queries import OPINIONS, T

S = SurveyScore.__table__
OPINION_LABELS = {"satisfied": _l("Satisfied"), "needs_adjustment": _l("Needs adjustment"),
                  "unsatisfied": _l("Unsatisfied")}
_DIMENSION = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def opinion_dimension(conn, scope, opinions=None):
    """The feedback step's opinion as one dimension, counted by the database (`opinions`: the counts when the
    caller's own pass over the tickets already has them)."""
    counts = dict.fromkeys(OPINIONS, 0)
    if opinions is not None:
        counts.update(opinions)
    else:
        query = (select(T.c.satisfaction, func.count().label("n"))
                 .where(*scope.conditions(), T.c.satisfaction.in_(OPINIONS)).group_by(T.c.satisfaction))
        counts.update({row.satisfaction: row.n for row in conn.execute(query)})
    return [_dimension("opinion", str(_("Customer opinion")), list(OPINIONS),
                       {k: str(v) for k, v in OPINION_LABELS.items()}, counts)]


def survey_dimensions(conn, scope, opinions=None):
    """Each choice question of the survey with its answers per value (one GROUP BY over the scope's scores)."""
    query = (select(S.c.dimension, S.c.value, func.count().label("n"))
             .select_from(S.join(T, T.c.id == S.c.ticket_id)).where(*scope.conditions())
             .group_by(S.c.dimension, S.c.value))
    found = {}
    for row in conn.execute(query):
        found.setdefault(row.dimension, {})[row.value] = row.n
    labels = _survey_labels()
    dimensions = []
    for name in [*labels, *sorted(set(found) - set(labels))]:
        title, titles, scale = labels.get(name, (name, {}, []))
        counts = found.get(name, {})
        scale = scale + sorted(set(counts) - set(scale))
        dimensions.append(_dimension(name, title, scale, {v: titles.get(v, v) for v in scale},
                                     {v: counts.get(v, 0) for v in scale}))
    return dimensions


def _survey_labels():
    definition_id = latest_definition_id(PROCESS_NAME)
    if definition_id is None:
        return {}
    schema = (current_app.extensions["engine"].definition_forms(definition_id) or {}).get(FORM_NAME)
    return dimension_labels(schema)


def _dimension(name, title, scale, labels, counts):
    answers = sum(counts.values())
    numeric = scale and all(re.fullmatch(r"-?[0-9]+", v) for v in scale)
    average = round(sum(int(v) * n for v, n in counts.items()) / answers, 2) if numeric and answers else None
    return {"dimension": name, "title": title, "scale": scale, "labels": labels, "counts": counts,
            "answers": answers, "average": average,
            "scale_key": "\u0000".join(f"{v}={labels[v]}" for v in scale)}  # questions sharing a scale share a table


SOURCES = [opinion_dimension, survey_dimensions]


def distribution(conn, scope, opinions=None):
    """Every satisfaction dimension of the scope's tickets with its counts per value (see the module doc);
    `opinions` spares the opinion's own query when the caller counted them."""
    return [dimension for source in SOURCES for dimension in source(conn, scope, opinions=opinions)]


def figure_condition(dimension, value):
    """The SQL condition selecting the tickets behind one satisfaction count, or None when unknown."""
    if dimension == "opinion":
        return T.c.satisfaction == value if value in OPINIONS else None
    if not _DIMENSION.fullmatch(dimension or "") or not value or len(value) > 64:
        return None
    return exists(select(literal(1)).where(S.c.ticket_id == T.c.id, S.c.dimension == dimension, S.c.value == value))
