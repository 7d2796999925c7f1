"""The engine's quick scan for ready user tasks lists what SpiffWorkflow's tree walk lists, in its order."""
import pytest
from SpiffWorkflow.util.task import TaskState

from app.engine.runtime import _ready_user_tasks
from tests.unit.test_serializer import PATHS, clock, engine, specs, start, step  # noqa: F401


@pytest.mark.parametrize("path", PATHS)
def test_ready_user_tasks_match_the_tree_walk_after_every_task(specs, engine, clock, path):
    seen = set()

    def check(workflow):
        walked = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert _ready_user_tasks(workflow) == walked
        seen.add(len(walked))

    workflow = start(specs, engine, check)
    for action, payload in PATHS[path]:
        step(workflow, clock, action, payload, check)
    if path == "overdue":
        assert max(seen) >= 2  # the order of several comes from the walk
