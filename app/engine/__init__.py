"""The engine: the only package that imports SpiffWorkflow.

It deploys `workflows/*.bpmn` (with the decision tables and forms they use) as versioned definitions,
starts instances, completes user tasks and fires due timers, and keeps instance state in the database.
It knows nothing of HTTP, tickets or users: services give it data and turn its Steps into rows.
"""
from .definitions import DeployError, ProcessDefinition, latest_definition_id, read_bundles, deploy_bundles
from .models import PendingTimer, ProcessInstance
from .runtime import Engine, FinishedTask, ProcessError, ReadyTask, Step, WaitingTimer


def deploy_directory(workflows_dir, forms_dir, known_roles, *, deployed_by=None):
    """Validate every diagram and form; deploy changed ones as new versions.

    Returns [(definition, created)]; raises DeployError listing 'file:element: message' for every problem,
    in which case nothing is deployed.
    """
    bundles, errors = read_bundles(workflows_dir, forms_dir, known_roles)
    if errors:
        raise DeployError(errors)
    return deploy_bundles(bundles, deployed_by=deployed_by)


__all__ = [
    "DeployError",
    "Engine",
    "FinishedTask",
    "PendingTimer",
    "ProcessDefinition",
    "ProcessError",
    "ProcessInstance",
    "ReadyTask",
    "Step",
    "WaitingTimer",
    "deploy_directory",
    "latest_definition_id",
]
