"""Keep an instance's task tree bounded whatever the number of loops its diagram takes.

SpiffWorkflow keeps every task it ever ran: each pass through a loop (a ticket sent back to handling, a window
that lapsed and was reassigned) adds a round to the tree, and with it a finished subprocess. The state then grows
without end, every step walks more tasks, and deep trees end in RecursionError. Nothing reads those rounds again
(the ticket's history rows are the record), so after each step `compact` drops them:

- a finished task that nothing below it still needs is removed with its finished subtree;
- a finished task on the way to live tasks that only passes control on (exactly one kept child) is spliced out:
  its child takes its place under its parent;
- subprocesses whose task is gone or finished are deleted.

What the engine still reads is kept as it was: every unfinished task (its id, state, data and internal data),
its parent (a task inherits its parent's data when it becomes ready, and gateways look at their parents) and its
children, the workflow's last task, and, for every waiting or predicted join, the split it looks for among its
ancestors together with that split's children. Every kept task keeps its data (in memory each task holds all of
it; the serializer writes it as a difference to the new parent).
"""
from SpiffWorkflow.util.task import TaskState

_LIVE = TaskState.NOT_FINISHED_MASK | TaskState.ERROR
_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED


def compact(workflow):
    """Drop the finished rounds of `workflow` (a BpmnWorkflow) and of its subprocesses; return how many tasks went.

    Unfinished tasks keep their ids, states and data, so ready user tasks and waiting timers are untouched.
    """
    if workflow.completed:
        return 0
    removed = _compact_tree(workflow)
    removed += _drop_finished_subprocesses(workflow)
    if workflow.subprocesses:  # those left run for a live task; outer ones first, as they may drop inner ones
        for subprocess in sorted(workflow.subprocesses.values(), key=lambda s: s.depth):
            removed += _compact_tree(subprocess)
        removed += _drop_finished_subprocesses(workflow)
    return removed


def _compact_tree(workflow):
    """Compact one (sub)workflow's own tree; return the number of tasks removed."""
    tasks = workflow.tasks
    root = workflow.task_tree
    live = [task for task in tasks.values() if task._state & _LIVE]
    if not live:
        return 0  # finished: its parent task decides when it goes

    keep, pinned = {root.id}, {root.id}

    def hold(task_id):
        while task_id is not None and task_id not in keep:
            keep.add(task_id)
            task_id = tasks[task_id]._parent

    for task in live:
        hold(task.id)
        pinned.add(task.id)
        if task._parent is not None:
            pinned.add(task._parent)  # inherits its data; gateways look at their inputs
        for child_id in task._children:  # e.g. a multi-instance task reads its finished instances
            hold(child_id)
        split = getattr(task.task_spec, "split_task", None)
        if split:
            ancestor = task.parent
            while ancestor is not None and ancestor.task_spec.name != split:
                ancestor = ancestor.parent
            if ancestor is not None:  # the join reads the split's children: keep them in place
                pinned.add(ancestor.id)
                for child_id in ancestor._children:
                    hold(child_id)
                    pinned.add(child_id)
    last = workflow.last_task
    if last is not None and last.id in tasks:
        hold(last.id)
        pinned.add(last.id)

    kept_children = {}
    for task_id in keep:
        kept_children[task_id] = [c for c in tasks[task_id]._children if c in keep]
    spliced = {
        task_id for task_id, children in kept_children.items()
        if task_id not in pinned and len(children) == 1 and tasks[task_id]._state & _FINISHED
    }
    if not spliced and len(keep) == len(tasks):
        return 0

    def survivor(task_id):
        while task_id in spliced:
            task_id = kept_children[task_id][0]
        return task_id

    def surviving_parent(task_id):
        while task_id in spliced:
            task_id = tasks[task_id]._parent
        return task_id

    for task_id in keep:
        if task_id in spliced:
            continue
        task = tasks[task_id]
        task._children = [survivor(c) for c in kept_children[task_id]]
        if task._parent is not None:
            task._parent = surviving_parent(task._parent)

    gone = [task_id for task_id in tasks if task_id not in keep or task_id in spliced]
    events = workflow.top_workflow.event_manager
    for task_id in gone:
        events.remove_task(tasks.pop(task_id))
    return len(gone)


def _drop_finished_subprocesses(top):
    """Delete subprocesses whose task is gone or finished (they, and what they started, are history)."""
    removed = 0
    while True:
        owners = {}
        for workflow in (top, *top.subprocesses.values()):
            owners.update(dict.fromkeys(workflow.tasks, workflow))
        doomed = []
        for task_id, subprocess in top.subprocesses.items():
            owner = owners.get(task_id)
            if owner is None or owner.tasks[task_id]._state & _FINISHED:
                doomed.append(task_id)
        if not doomed:
            return removed
        for task_id in doomed:
            subprocess = top.subprocesses.pop(task_id)
            for task in subprocess.tasks.values():
                top.event_manager.remove_task(task)
            removed += len(subprocess.tasks)
