"""The capabilities a diagram calls, as a scenario answers them.

Only the capabilities that compute from their arguments and the clock are the application's own (`PURE`: they
read app.clock, which the scenario moves). Every other capability reads or writes the database, so the scenario
answers it instead, and a scenario never depends on (or touches) the rows of the database it runs next to:

- `pick_assignee(department, role)`: the user the scenario's `staff` names for "department:role", else for the
  department, else None (in the application: the least-loaded available member of the department with the role);
- `has_open_task(ticket_number, task_name)`: whether a user task `task_name` was waiting before the current
  step began (in the application: an open task row of the ticket, written with the previous step);
- `ticket_handler(ticket_number)`: the newest `assignee` and `department` any step of the scenario set (in the
  application: the ticket's current handler and department, which every step mirrors);
- any other (e.g. one that starts another process or sends a survey): the call is recorded in `calls`
  (name and arguments) and answers True; nothing is started or sent.
"""
from app.capabilities import HELPERS

PURE = frozenset({"deadline", "working_deadline", "now_iso"})


class World:
    """What the scenario knows that the application would read from its database."""

    def __init__(self, staff, base=None):
        self.staff = dict(staff)
        self.base = dict(HELPERS if base is None else base)
        self.open_before = set()  # names of the user tasks waiting when the current step began
        self.calls = []           # (capability, args) of the recorded capabilities, in call order
        self.variables = dict     # () -> the simulation's variables (the runner hands its own over)

    def helpers(self):
        answered = {"pick_assignee": self.pick_assignee, "has_open_task": self.has_open_task,
                    "ticket_handler": self.ticket_handler}
        return {name: self.base[name] if name in PURE else answered.get(name) or self._recorder(name)
                for name in self.base}

    def pick_assignee(self, department, role=None, *_rest):
        if role and f"{department}:{role}" in self.staff:
            return self.staff[f"{department}:{role}"]
        return self.staff.get(department)

    def has_open_task(self, ticket_number, task_name):
        return task_name in self.open_before

    def ticket_handler(self, ticket_number):
        variables = self.variables()
        return {"assignee": variables.get("assignee") or None, "department": variables.get("department") or None}

    def _recorder(self, name):
        def record(*args):
            self.calls.append((name, args))
            return True

        record.__name__ = name
        return record
