"""Camunda's expressions (JUEL, `${…}`) as the Python expressions SpiffWorkflow evaluates: only the plain part
of the language is converted (names, literals, comparisons, `&&`/`||`/`!`, `eq`/`ne`/`lt`/`gt`/`le`/`ge`,
`and`/`or`/`not`, `empty`); what remains must compile as Python or the conversion says it cannot.
"""
import json
import re

_WRAPPED = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)
_TOKENS = re.compile(
    r"""("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')"""          # string literals stay as they are
    r"""|(&&|\|\||!=|==|!|\b(?:true|false|null|eq|ne|lt|gt|le|ge|and|or|not|empty)\b)""")
_WORDS = {"&&": " and ", "||": " or ", "!": " not ", "!=": "!=", "==": "==", "true": "True", "false": "False",
          "null": "None", "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "and": "and",
          "or": "or", "not": "not", "empty": " not "}
_ISO_LIKE = re.compile(r"^(R\d*/)?(P(?!$)[0-9YMWDTHS.,]*|\d{4}-\d{2}-\d{2}\S*)$", re.ASCII)


def is_expression(text):
    """Whether `text` is a JUEL expression (`${…}` or `#{…}`)."""
    return bool(_WRAPPED.match(text or ""))


def to_python(text):
    """The Python expression of JUEL `text` (`${…}`); None when it is no JUEL expression or does not convert to an
    expression Python compiles."""
    match = _WRAPPED.match(text or "")
    if not match:
        return None

    def swap(token):
        literal, word = token.group(1), token.group(2)
        return literal if literal is not None else _WORDS[word]

    source = re.sub(r"\s+", " ", _TOKENS.sub(swap, match.group(1))).strip()
    try:
        compile(source, "<expression>", "eval")
    except SyntaxError:
        return None
    return source or None


def value_to_python(text):
    """A Camunda value (an attribute or parameter text) as a Python expression: JUEL converted, anything else a
    string literal. None when it is JUEL that does not convert."""
    if is_expression(text):
        return to_python(text)
    return json.dumps((text or "").strip(), ensure_ascii=False)


def timer_to_python(text):
    """A Camunda timer value as SpiffWorkflow's timer expression: JUEL converted, a bare ISO 8601 value quoted,
    anything else unchanged (the deploy validation names what is wrong with it). None when JUEL does not convert."""
    text = (text or "").strip()
    if is_expression(text):
        return to_python(text)
    if _ISO_LIKE.match(text):
        return f'"{text}"'
    return text
