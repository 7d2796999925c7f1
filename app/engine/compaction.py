"""Keep an instance's task tree bounded whatever the number of loops its diagram takes.

SpiffWorkflow keeps every task it ever ran: each pass through a loop (a ticket sent back to handling, a window
that lapsed and was reassigned) adds a round to the tree, and with it a finished subprocess. The state then grows
without end, every step walks more tasks, and deep trees end in RecursionError. Nothing reads those rounds again
(the ticket's history rows are the record), so after each step `compact` drops them:

- a finished task that nothing below it still needs is removed with its finished subtree;
- a finished task on the way to live tasks that only passes control on (exactly one kept child) is spliced out:
  its child takes its place under its parent;
- subprocesses whose task is gone or finished are deleted.

What the engine still reads is kept as it was: every unfinished task (its id, state, data and internal data), its
parent (a task takes its parent's data again on every update, e.g. a waiting timer on each refresh) and its
children, the workflow's last task, the root's children (they head its paths); for every waiting or predicted
structured join (after a task with boundary events) the split it looks for among its ancestors, with that split's
children in place; for every merging gateway, the nearest ancestor that ran each of its inputs (SpiffWorkflow's
parallel gateway finds its inputs that way). Every kept task keeps its data (in memory each task holds all of it;
the serializer writes it as a difference to the new parent). A tree of a shape this module does not know is left
as it is.

Measured on workflows/quick_response.bpmn (bench/reopen.py): the state stays at its size of the first loop, a
step costs the same at loop 500 as at loop 1. Bare SpiffWorkflow 3.2 fails with RecursionError near loop 160, and
a loop through a parallel gateway fails there at its second round; compacted, it runs (tests/unit).
"""
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.task import TaskState

_LIVE = TaskState.NOT_FINISHED_MASK | TaskState.ERROR
_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED


def compact(workflow):
    """Drop the finished rounds of `workflow` (a BpmnWorkflow) and of its subprocesses; return how many tasks went.

    Unfinished tasks keep their ids, states and data, so ready user tasks and waiting timers are untouched.
    """
    if workflow.completed:
        return 0
    try:
        removed = _compact_tree(workflow)
    except _UnknownShape:
        return 0
    removed += _drop_finished_subprocesses(workflow)
    if workflow.subprocesses:  # those left run for a live task; outer ones first, as they may drop inner ones
        for subprocess in sorted(workflow.subprocesses.values(), key=lambda s: s.depth):
            try:
                removed += _compact_tree(subprocess)
            except _UnknownShape:
                pass
        removed += _drop_finished_subprocesses(workflow)
    return removed


class _UnknownShape(Exception):
    """A task refers to a task that is not in its workflow: leave that tree alone."""


def _compact_tree(workflow):
    """Compact one (sub)workflow's own tree; return the number of tasks removed. Changes nothing until it knows
    the whole plan (raises _UnknownShape before that).

    Its cost follows the finished tasks, the only ones that can go: a live task is always kept, and so is every
    ancestor of one, i.e. every finished task with a live child and the finished tasks above it. Only the links
    next to a task that goes change."""
    tasks = workflow.tasks
    finished, joins = [], []
    for task in tasks.values():
        if task._state & _FINISHED:
            finished.append(task)
        elif isinstance(task.task_spec, UnstructuredJoin) or getattr(task.task_spec, "split_task", None):
            joins.append(task)
    if len(finished) <= 1 or len(finished) == len(tasks):
        return 0  # nothing finished below the root, or finished (its parent task decides when it goes)
    # Task objects hash by identity; ids are UUIDs, whose hash is Python code: look ids up by their int once.
    by_int = {task_id.int: task for task_id, task in tasks.items()}
    get = by_int.get

    def lookup(task_id):
        task = get(task_id.int) if task_id is not None else None
        if task is None:
            raise _UnknownShape(task_id)
        return task

    root = workflow.task_tree
    parent_of = {}
    keep, pinned = {root}, {root}  # keep: the root and the finished tasks kept (live ones always are)

    def hold(task):
        while task not in keep and not task._state & _LIVE:
            keep.add(task)
            parent = parent_of[task] = lookup(task._parent)
            task = parent

    for task in finished:
        if task is root:
            continue
        for child_id in task._children:
            child = get(child_id.int)
            if child is not None and child._state & _LIVE:
                hold(task)
                pinned.add(task)  # a live task inherits its parent's data; gateways look at their inputs
                break
        parent = get(task._parent.int) if task._parent is not None else None
        if parent is not None and parent._state & _LIVE:
            hold(task)  # a live task's finished child, e.g. a multi-instance task reads its finished instances
    for task in joins:
        if isinstance(task.task_spec, UnstructuredJoin):  # a merging gateway looks up its inputs among its ancestors
            _pin_nearest_inputs(task, lookup, pinned)
        split = getattr(task.task_spec, "split_task", None)
        if split:  # a join reads the split's children: keep them, in place
            ancestor = _parent(task, lookup)
            while ancestor is not None and ancestor.task_spec.name != split:
                ancestor = _parent(ancestor, lookup)
            if ancestor is not None:
                pinned.add(ancestor)
                for child_id in ancestor._children:
                    child = lookup(child_id)
                    hold(child)
                    pinned.add(child)
    last = workflow.last_task
    if last is not None and get(last.id.int) is last:
        hold(last)
        pinned.add(last)
    # the root's children head the process's paths (an ad hoc subprocess knows its branches by them)
    pinned.update(child for child in map(lookup, root._children) if child in keep)

    def kept(task):
        return task in keep or task._state & _LIVE

    # a finished task that passes control on (one kept child) and is not pinned is spliced out
    kept_children, spliced = {}, set()
    for task in keep:
        children = kept_children[task] = [c for c in map(lookup, task._children) if c in keep or c._state & _LIVE]
        if len(children) == 1 and task not in pinned and task._state & _FINISHED:
            spliced.add(task)
    gone = [task for task in finished if task not in keep or task in spliced]
    if not gone:
        return 0

    def survivor(task):
        while task in spliced:
            task = kept_children[task][0]
        return task

    def kept_above(task):
        parent = parent_of[task]
        while parent in spliced:
            parent = parent_of[parent]
        return parent

    # the kept tasks whose children change: the parent of a task that goes, or the nearest kept ancestor of one
    # spliced out; and the kept tasks whose parent changes: the survivors below a spliced task
    changed = set()
    new_parents = []
    for task in gone:
        if task in spliced:
            above = kept_above(task)
            changed.add(above)
            child = kept_children[task][0]
            if child not in spliced:
                new_parents.append((child, above.id))
        else:
            parent = get(task._parent.int) if task._parent is not None else None
            if parent is not None and kept(parent) and parent not in spliced:
                changed.add(parent)
    new_children = [(task, [survivor(child).id for child in (
        kept_children[task] if task in kept_children else [c for c in map(lookup, task._children) if kept(c)])])
        for task in changed]

    for task, children in new_children:
        task._children = children
    for task, parent_id in new_parents:
        task._parent = parent_id
    events = workflow.top_workflow.event_manager
    for task in gone:
        del tasks[task.id]
        events.remove_task(task)
    return len(gone)


def _parent(task, lookup):
    return lookup(task._parent) if task._parent is not None else None


def _pin_nearest_inputs(task, lookup, pinned):
    """Pin, for each input of the gateway `task`, its nearest ancestor that ran that input."""
    wanted = set(task.task_spec.inputs)
    ancestor = _parent(task, lookup)
    while ancestor is not None and wanted:
        if ancestor.task_spec in wanted:
            wanted.discard(ancestor.task_spec)
            pinned.add(ancestor)
        ancestor = _parent(ancestor, lookup)


def _drop_finished_subprocesses(top):
    """Delete subprocesses whose task is gone or finished (they, and what they started, are history)."""
    removed = 0
    while top.subprocesses:
        doomed = []
        for task_id in top.subprocesses:
            task = top.tasks.get(task_id)
            for subprocess in top.subprocesses.values():
                if task is not None:
                    break
                task = subprocess.tasks.get(task_id)
            if task is None or task._state & _FINISHED:
                doomed.append(task_id)
        if not doomed:
            break
        for task_id in doomed:
            subprocess = top.subprocesses.pop(task_id)
            for task in subprocess.tasks.values():
                top.event_manager.remove_task(task)
            removed += len(subprocess.tasks)
    return removed
