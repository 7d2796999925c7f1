"""The engine: the only package that imports SpiffWorkflow.

It deploys `workflows/*.bpmn` (with the decision tables and forms they use) as versioned definitions,
starts instances, completes user tasks and fires due timers, and keeps instance state in the database.
It knows nothing of HTTP, tickets or users: services give it data and turn its Steps into rows.
"""
from .definitions import (
    Bundle, DeployError, ProcessDefinition, check_texts, deploy_bundles, deploy_version, deployed_files,
    latest_definition_id, passed_as_deployed, read_bundles,
)
from .decisions import DecisionError
from .models import PendingTimer, ProcessInstance
from .runtime import Engine, FinishedTask, ProcessError, ReadyTask, Step, WaitingTimer
from .simulation import Model, Simulation, parse_model
from .validation import Problem, Rules


def deploy_directory(workflows_dir, forms_dir, rules, *, deployed_by=None, replace_file=False, check=None):
    """Validate every diagram, decision table and form as one batch; deploy changed ones as new versions.

    `rules` is a validation.Rules (or the set of known roles). A file may not take over a process id another
    file deployed unless `replace_file`. Returns [(definition, created)]; raises DeployError listing every
    Problem (file, process, element, field, message), in which case nothing of the batch is deployed.
    `check(bundles)`, when given, runs after a clean validation and returns further Problems (the application's
    scenario tests); any refuses the batch too.
    """
    bundles, errors = read_bundles(workflows_dir, forms_dir, rules, deployed=deployed_files(),
                                   replace_file=replace_file)
    if errors:
        raise DeployError(errors)
    if check is not None:
        errors = check(bundles)
        if errors:
            raise DeployError(errors)
    return deploy_bundles(bundles, deployed_by=deployed_by)


__all__ = [
    "Bundle",
    "DecisionError",
    "DeployError",
    "Engine",
    "FinishedTask",
    "PendingTimer",
    "Problem",
    "ProcessDefinition",
    "ProcessError",
    "ProcessInstance",
    "ReadyTask",
    "Model",
    "Simulation",
    "parse_model",
    "Rules",
    "Step",
    "WaitingTimer",
    "check_texts",
    "deploy_directory",
    "deploy_version",
    "deployed_files",
    "latest_definition_id",
    "passed_as_deployed",
]
