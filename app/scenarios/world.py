"""The capabilities a diagram calls, as a scenario answers them.

`deadline` and `now_iso` are the application's own (they read app.clock, which the scenario moves). The
capabilities that read the database answer from the scenario instead, so a scenario never depends on (or
touches) the rows of the database it runs next to:

- `pick_assignee(department)`: the user the scenario's `staff` names for the department, else None
  (in the application: the department's least-loaded active handler);
- `has_open_task(ticket_number, task_name)`: whether a user task `task_name` was waiting before the current
  step began (in the application: an open task row of the ticket, written with the previous step).
"""
from app.capabilities import HELPERS


class World:
    """What the scenario knows that the application would read from its database."""

    def __init__(self, staff):
        self.staff = dict(staff)
        self.open_before = set()  # names of the user tasks waiting when the current step began

    def helpers(self):
        return {**HELPERS, "pick_assignee": self.pick_assignee, "has_open_task": self.has_open_task}

    def pick_assignee(self, department):
        return self.staff.get(department)

    def has_open_task(self, ticket_number, task_name):
        return task_name in self.open_before
