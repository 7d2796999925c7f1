"""A survey's choice questions as scores: which fields of the survey form are choices (oneOf consts or an enum),
their options in the form's order, and the score rows a completed survey writes for the reports."""
from app.i18n import schema_title


def choice_fields(schema):
    """{field: [(value as text, option schema or None), …]} for each choice question of the form, in form order."""
    found = {}
    for name, prop in ((schema or {}).get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        options = [(str(o["const"]), o) for o in prop.get("oneOf") or [] if isinstance(o, dict) and "const" in o]
        options = options or [(str(v), None) for v in prop.get("enum") or []]
        if options:
            found[name] = options
    return found


def score_rows(schema, *, survey_id, ticket_id, answers):
    """The survey_scores rows of a completed survey: one per answered choice question."""
    return [{"survey_id": survey_id, "ticket_id": ticket_id, "dimension": name[:64], "value": str(answers[name])[:64]}
            for name in choice_fields(schema) if answers.get(name) is not None]


def dimension_labels(schema):
    """{field: (title in the current language, {value: option title}, [values in form order])} of the choice
    questions of a survey form."""
    labels = {}
    for name, options in choice_fields(schema).items():
        prop = schema["properties"][name]
        titles = {value: (schema_title(option) if option else None) or value for value, option in options}
        labels[name] = (schema_title(prop) or name, titles, [value for value, _option in options])
    return labels
