"""SpiffWorkflow's task-tree walks, without their depth bookkeeping: the same tasks in the same order.

Every engine step walks the whole task tree several times: `do_engine_steps` looks for ready tasks (once per
pass and per subprocess), and every completed task makes its workflow look for waiting tasks to update. Half of a
step's time went to SpiffWorkflow 3.2's `TaskIterator`, most of it to keeping a depth count: each leaf walks up
its ancestors, each hop a dictionary lookup by UUID (whose hash is Python code). The count only matters when it
reaches `max_depth` (1000 unless a caller says otherwise).

`install()` replaces `BpmnBaseWorkflow.get_tasks_iterator` (behind `get_tasks` and `get_next_task`) and
`Workflow.update_waiting_tasks` with walks that build SpiffWorkflow's own iterator (so its filter and start
state are SpiffWorkflow's) and then yield exactly the tasks it would, in its depth-first order, reading each
task's children and subprocess when the task is reached, as it does (a caller may change the tree between two
tasks). The depth count cannot reach `max_depth` when the walk cannot take that many steps down: the walk is
used only when the workflow holds fewer than half of `max_depth` tasks, and stops with an error rather than
walk on past it (compaction keeps trees at tens of tasks); otherwise SpiffWorkflow's iterator runs as before.
tests/unit/test_walk.py holds both to the same sequences.
"""
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskFilter, BpmnTaskIterator
from SpiffWorkflow.util.task import TaskFilter, TaskIterator, TaskState
from SpiffWorkflow.workflow import Workflow

_ORIGINAL = {}
_FINISHED_MASK = TaskState.FINISHED_MASK


def walk(iterator):
    """The tasks SpiffWorkflow's `iterator` (a fresh TaskIterator or BpmnTaskIterator) yields, as an iterator."""
    kind = type(iterator)
    if kind is not TaskIterator and kind is not BpmnTaskIterator or not iterator.depth_first \
            or len(iterator.task_list) != 1 or iterator.depth != 0:
        return iterator
    first = iterator.task_list[0]
    bpmn = kind is BpmnTaskIterator
    if bpmn:
        top = first.workflow.top_workflow
        size = len(top.tasks) + sum(len(sub.tasks) for sub in top.subprocesses.values())
    else:
        size = len(first.workflow.tasks)
    if 2 * size >= iterator.max_depth:
        return iterator
    return _walk(iterator, first, bpmn)


def _walk(iterator, first, bpmn):
    test = iterator.task_filter
    kind = type(test)
    simple = (kind is TaskFilter or kind is BpmnTaskFilter) and test.spec_name is None and test.spec_class is None \
        and getattr(test, "catches_event", None) is None and getattr(test, "lane", None) is None
    state, updated_ts, manual = test.state, test.updated_ts, test.manual
    min_state, end_at, limit = iterator.min_state, iterator.end_at_spec, iterator.max_depth // 2
    # BpmnTaskIterator does not descend into a finished subprocess when looking for unfinished tasks
    skip_all, skip_finished = bpmn and iterator.skip_subprocesses, state <= _FINISHED_MASK
    # every task a walk reaches belongs to the same top workflow, whose map of subprocesses stays the same object
    subprocesses = first.workflow.top_workflow.subprocesses if bpmn else {}
    stack, expanded = [first], 0
    while stack:
        task = stack.pop()
        subprocess = subprocesses.get(task.id) if subprocesses else None
        if (task._children or subprocess is not None) and (task._state >= min_state or subprocess is not None) \
                and task.task_spec.name != end_at:
            expanded += 1
            if expanded > limit:
                raise RuntimeError("the task tree grew past what a walk may take while it was walked")
            tasks = task.workflow.tasks
            stack.extend([tasks.get(c) for c in reversed(task._children)])
            if subprocess is not None and not skip_all and not (skip_finished and task._state >= _FINISHED_MASK):
                stack.append(subprocess.task_tree)
        if simple:
            if task._state & state and task.last_state_change >= updated_ts \
                    and (manual is None or task.task_spec.manual == manual):
                yield task
        elif test.matches(task):
            yield task


def _get_tasks_iterator(self, first_task=None, **kwargs):
    return walk(BpmnTaskIterator(first_task or self.task_tree, **kwargs))


def _update_waiting_tasks(self):
    """Update all tasks in the WAITING state"""
    for task in walk(TaskIterator(self.task_tree, state=TaskState.WAITING)):
        task.task_spec._update(task)


def install():
    """Use the walks above for `get_tasks`/`get_next_task` of BPMN workflows and for `update_waiting_tasks`
    (idempotent)."""
    if _ORIGINAL:
        return
    _ORIGINAL["get_tasks_iterator"] = BpmnBaseWorkflow.get_tasks_iterator
    _ORIGINAL["update_waiting_tasks"] = Workflow.update_waiting_tasks
    BpmnBaseWorkflow.get_tasks_iterator = _get_tasks_iterator
    Workflow.update_waiting_tasks = _update_waiting_tasks


def uninstall():
    """Put SpiffWorkflow's own methods back (tests compare the two)."""
    if _ORIGINAL:
        BpmnBaseWorkflow.get_tasks_iterator = _ORIGINAL.pop("get_tasks_iterator")
        Workflow.update_waiting_tasks = _ORIGINAL.pop("update_waiting_tasks")


install()
