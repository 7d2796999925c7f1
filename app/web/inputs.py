"""Reading form and query input safely."""


def clean(value):
    """Text without NUL characters (PostgreSQL text and JSON columns refuse them); other values unchanged."""
    return value.replace("\x00", "") if isinstance(value, str) else value
