"""Satisfaction figures of a ticket set, behind one small interface the report reads.

`distribution(conn, scope)` answers a list of dimensions, each `{"dimension", "scale", "counts"}` where `scale`
lists the possible values in order and `counts` maps each value to how many tickets gave it. Today the only
source is the customer's opinion recorded at the feedback step (ticket column `satisfaction`: satisfied /
needs_adjustment / unsatisfied), one dimension named "opinion".

A survey with 1-5 scores per dimension plugs in by adding a source to SOURCES: a function (conn, scope) ->
list of dimensions that groups the survey rows of the scope's tickets per dimension and score (scale
[1, 2, 3, 4, 5]) in SQL; the page, API and exports show every dimension a source returns.
"""
from sqlalchemy import func, select

from .queries import T

OPINIONS = ("satisfied", "needs_adjustment", "unsatisfied")


def opinion_dimension(conn, scope):
    """The feedback step's opinion as one dimension, counted by the database."""
    query = (select(T.c.satisfaction, func.count().label("n")).where(*scope.conditions(), T.c.satisfaction.in_(OPINIONS))
             .group_by(T.c.satisfaction))
    counts = dict.fromkeys(OPINIONS, 0)
    counts.update({row.satisfaction: row.n for row in conn.execute(query)})
    return [{"dimension": "opinion", "scale": list(OPINIONS), "counts": counts}]


SOURCES = [opinion_dimension]


def distribution(conn, scope):
    """Every satisfaction dimension of the scope's tickets with its counts per value (see the module doc)."""
    return [dimension for source in SOURCES for dimension in source(conn, scope)]


def figure_condition(dimension, value):
    """The SQL condition selecting the tickets behind one satisfaction count, or None when unknown."""
    if dimension == "opinion" and value in OPINIONS:
        return T.c.satisfaction == value
    return None
