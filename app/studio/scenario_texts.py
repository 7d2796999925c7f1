"""The scenario texts of a process in the studio: where they come from, what a saved text may be, and the gate a
studio deploy or roll-back passes (every scenario passes against what would be deployed, else nothing is).

A process's scenarios are the scenario files whose diagram is the process's file: the draft's when the owner
edited them, else the ones stored with the version (`ProcessDefinition.scenarios`), else, for a version deployed
before they were stored, the files in WORKFLOWS_DIR.
"""
from flask import current_app

from app.errors import ValidationFailed
from app.i18n import _
from app.scenarios import for_diagram, result_problems, run_texts, scenario_files
from app.scenarios.loader import SUFFIXES, is_scenario_file

MAX_FILES = 20
MAX_TEXT_CHARS = 200_000
MAX_NAME_CHARS = 120


def of_version(definition):
    """{file name: text} of the scenarios stored with `definition`, or the files in WORKFLOWS_DIR about its diagram."""
    if definition.scenarios is not None:
        return dict(definition.scenarios)
    return for_diagram(scenario_files(current_app.config["WORKFLOWS_DIR"]), definition.filename)


def clean(value, field="scenarios"):
    """The scenario texts an owner sends: {file name: text}, names ending in .scenarios.yaml/.yml/.json without a
    folder, texts with no NUL and not too long (line ends made \\n). ValidationFailed names the file and the rule."""
    if not isinstance(value, dict):
        raise ValidationFailed({field: _("Send the scenarios as an object of file name to text.")})
    if len(value) > MAX_FILES:
        raise ValidationFailed({field: _("At most %(n)s scenario files.", n=MAX_FILES)})
    texts = {}
    for name, text in value.items():
        where = f"{field}.{name}"
        if (not isinstance(name, str) or not is_scenario_file(name) or "/" in name or "\\" in name
                or name.startswith(".") or len(name) > MAX_NAME_CHARS):
            raise ValidationFailed({where: _("A scenario file name ends in %(suffixes)s and names no folder.",
                                             suffixes=", ".join(SUFFIXES))})
        if not isinstance(text, str):
            raise ValidationFailed({where: _("The scenario file must be text.")})
        if len(text) > MAX_TEXT_CHARS:
            raise ValidationFailed({where: _("The scenario file is longer than %(n)s characters.", n=MAX_TEXT_CHARS)})
        if "\x00" in text:
            raise ValidationFailed({where: _("The scenario file contains a NUL character.")})
        texts[name] = text.replace("\r\n", "\n")
    return texts


def run(filename, bpmn, dmn, forms, texts):
    """[ScenarioResult] of the scenario `texts` against the diagram `bpmn` (as file `filename`), tables and forms."""
    return run_texts(texts, {filename: bpmn}, dmn, forms)


def gate(name, filename, bpmn, dmn, forms, texts):
    """The Problems that refuse a deploy of process `name`: one per failed scenario (empty: all pass)."""
    return result_problems(run(filename, bpmn, dmn, forms, texts), name)
