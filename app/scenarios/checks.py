"""Compare a scenario's expectation with the simulated instance; each mismatch is one readable sentence."""
from datetime import datetime


def check(expect, simulation):
    """The list of ways the instance differs from `expect` (empty when it holds)."""
    problems = []
    ready = simulation.ready()
    names = [t.name for t in ready]
    waiting = f"waiting at: {', '.join(names)}" if names else "no task is waiting"
    for name in expect.waiting_at:
        if name not in names and not any(t.title == name for t in ready):
            problems.append(f"expected to wait at {name}, but {waiting}")
    for name in expect.not_waiting_at:
        if name in names or any(t.title == name for t in ready):
            problems.append(f"expected not to wait at {name}, but it is waiting")
    targets = [t for t in ready if t.name in expect.waiting_at or t.title in expect.waiting_at]
    for task in targets:
        if expect.lane is not None and task.lane != expect.lane:
            problems.append(f"{task.name} is in the lane {task.lane!r}, expected {expect.lane!r}")
        if expect.assignee is not ...:
            actual = assignee_of(simulation, task)
            if actual != expect.assignee:
                problems.append(f"{task.name} goes to {_person(actual)}, expected {_person(expect.assignee)}")
    variables = simulation.variables
    if expect.status is not ... and not same(variables.get("status"), expect.status):
        problems.append(f"status is {_show(variables.get('status'))}, expected {_show(expect.status)}")
    for name, wanted in expect.variables.items():
        if name not in variables:
            problems.append(f"variable {name} is not set, expected {_show(wanted)}")
        elif not same(variables[name], wanted):
            problems.append(f"variable {name} is {_show(variables[name])}, expected {_show(wanted)}")
    problems += [f"variable {n} is empty, expected a value" for n in expect.filled if variables.get(n) in (None, "")]
    problems += [f"variable {n} is {_show(variables[n])}, expected it empty" for n in expect.empty
                 if variables.get(n) not in (None, "")]
    if expect.finished is not None and simulation.completed != expect.finished:
        problems.append("the process finished, expected it still running" if simulation.completed
                        else f"the process is still running ({waiting}), expected it finished")
    timers = {t.name for t in simulation.timers()}
    problems += [f"expected the timer {n} to be waiting, but {_timers(timers)}" for n in expect.timers
                 if n not in timers]
    problems += [f"expected the process to have passed {n}, but it has not" for n in expect.passed
                 if n not in simulation.path]
    return problems


def assignee_of(simulation, task):
    """Whom a waiting user task goes to: its `assignee` property evaluated as the application does, or None."""
    expression = task.properties.get("assignee")
    if not expression:
        return None
    try:
        value = simulation.evaluate(expression, task.data)
    except Exception as error:  # noqa: BLE001 - a broken expression shows as the assignee it cannot name
        return f"<error: {error}>"
    return value if isinstance(value, str) and value else None


def same(actual, expected):
    """Equal, or two ISO times that name the same instant (so +08:00 and UTC spellings match)."""
    if actual == expected:
        return True
    if isinstance(actual, str) and isinstance(expected, (str, datetime)):
        try:
            left = datetime.fromisoformat(actual)
            right = expected if isinstance(expected, datetime) else datetime.fromisoformat(expected)
            return left.tzinfo is not None and right.tzinfo is not None and left == right
        except ValueError:
            return False
    return False


def _show(value):
    return "not set" if value is None else repr(value)


def _person(value):
    return "nobody" if value is None else repr(value)


def _timers(names):
    return f"waiting timers: {', '.join(sorted(names))}" if names else "no timer is waiting"
