"""Run scenario files: for the CLI (`test-flows`), the deploy (refuse a batch whose scenarios fail) and the studio.

Scenarios run against the diagram texts given (the batch being deployed or edited), never against what the
database has deployed, and on an in-memory instance: no ticket, instance, task, timer or mail is written.
"""
import json
from pathlib import Path

from app.engine import Problem, parse_model, passed_as_deployed

from .loader import ScenarioFormatError, diagram_of, is_scenario_file, load_scenarios
from .results import ScenarioResult
from .runner import run_scenario


def run_texts(scenario_texts, bpmn, dmn, forms):
    """Run every scenario of `scenario_texts` (file name -> text) against the diagrams `bpmn` (file name ->
    XML), decision tables `dmn` (file name -> XML) and forms (file name -> JSON text or schema).

    Returns [ScenarioResult] in file order; a file that cannot be read or has no diagram gives one failed result
    (scenario "") naming the problem. This is the service the studio calls with the texts being edited.
    """
    schemas = {name: json.loads(v) if isinstance(v, str) else v for name, v in forms.items()}
    results, models = [], {}
    for filename in sorted(scenario_texts):
        try:
            loaded = load_scenarios(filename, scenario_texts[filename])
        except ScenarioFormatError as error:
            results.append(ScenarioResult(filename, "", False, message=str(error).removeprefix(f"{filename}: ")))
            continue
        if loaded.diagram not in bpmn:
            results.append(ScenarioResult(filename, "", False, message=f"the diagram {loaded.diagram} is not among "
                                                                       "the diagrams (name it with 'diagram:')"))
            continue
        try:
            model = models.get(loaded.diagram) or parse_model(bpmn[loaded.diagram], dmn, filename=loaded.diagram)
        except Exception as error:  # noqa: BLE001 - a diagram that does not parse fails its scenarios, named
            results.append(ScenarioResult(filename, "", False, message=f"{loaded.diagram} does not parse: {error}"))
            continue
        models[loaded.diagram] = model
        results.extend(run_scenario(s, model, schemas, filename=filename) for s in loaded.scenarios)
    return results


def read_texts(workflows_dir, forms_dir, only=None):
    """The scenario files, diagrams, decision tables and forms of the folders (scenarios: `only` if given)."""
    workflows_dir, forms_dir = Path(workflows_dir), Path(forms_dir)
    scenarios = {p.name: p.read_text(encoding="utf-8") for p in sorted(workflows_dir.iterdir())
                 if is_scenario_file(p.name)}
    if only is not None:
        path = Path(only)
        scenarios = {path.name: path.read_text(encoding="utf-8")}
    return (scenarios,
            {p.name: p.read_text(encoding="utf-8") for p in sorted(workflows_dir.glob("*.bpmn"))},
            {p.name: p.read_text(encoding="utf-8") for p in sorted(workflows_dir.glob("*.dmn"))},
            {p.name: p.read_text(encoding="utf-8") for p in sorted(forms_dir.glob("*.json"))})


def run_directory(workflows_dir, forms_dir, only=None):
    """Run the scenarios under `workflows_dir` (or the one file `only`) against the diagrams beside them."""
    return run_texts(*read_texts(workflows_dir, forms_dir, only))


def scenario_files(workflows_dir):
    """{file name: text} of the scenario files in `workflows_dir`."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(Path(workflows_dir).iterdir())
            if is_scenario_file(p.name)}


def target_of(filename, text):
    """The diagram file a scenario text is about: its `diagram:` (the same stem when it names none); a text that
    does not load is taken by its file name (quick_response.scenarios.yaml -> quick_response.bpmn)."""
    try:
        return load_scenarios(filename, text).diagram
    except ScenarioFormatError:
        return diagram_of(filename)


def for_diagram(scenario_texts, diagram):
    """The scenario texts (file name -> text) of `scenario_texts` that are about the diagram file `diagram`."""
    return {name: text for name, text in scenario_texts.items() if target_of(name, text) == diagram}


def result_problems(results, process, *, folder=""):
    """One Problem per failed ScenarioResult (file, process, "scenario 'name'", step, why), as a deploy refuses."""
    prefix = f"{folder}/" if folder else ""
    return [Problem(file=f"{prefix}{r.file}", process=process, element=f"scenario '{r.scenario}'" if r.scenario else "",
                    field=r.step_label, message=r.message)
            for r in results if not r.passed]


def batch_problems(bundles, workflows_dir, *, folder="workflows", skip_passed=False):
    """Run the scenarios beside a validated deploy batch against the batch's own bundles; one Problem per failed
    scenario (file, process, "scenario 'name'", step, why), empty when every scenario passes. Each bundle gets
    the scenario texts about its diagram (`Bundle.scenarios`): a version is stored with the tests it passed.

    `skip_passed` (the deploy on start): when every bundle is deployed already with its content and the same
    scenario texts, they passed then and are not run again (about a second per process start)."""
    scenarios = scenario_files(workflows_dir)
    targets = {name: target_of(name, text) for name, text in scenarios.items()}
    for bundle in bundles:
        bundle.scenarios = {name: text for name, text in scenarios.items() if targets[name] == bundle.filename}
    if not scenarios or (skip_passed and all(passed_as_deployed(bundle) for bundle in bundles)):
        return []
    bpmn = {b.filename: b.bpmn_xml for b in bundles}
    dmn = next((b.dmn_xml for b in bundles), {})
    forms = {name: schema for b in bundles for name, schema in b.forms.items()}
    process_of = {b.filename: b.name for b in bundles}
    results = run_texts(scenarios, bpmn, dmn, forms)
    return [problem for r in results
            for problem in result_problems([r], process_of.get(targets.get(r.file), ""), folder=folder)]
