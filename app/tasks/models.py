"""Open (and finished) human tasks, indexed for the inbox: by role and department, by assignee, by due time."""
from app.auth.models import User
from app.clock import now
from app.extensions import db
from app.customers.models import Customer
from app.tickets.models import Ticket


class HumanTask(db.Model):
    __tablename__ = "human_tasks"
    # Every inbox source is one range read in created_at order (see tasks.service.inbox). The queues are partial
    # indexes: PostgreSQL does not read `assignee_id IS NULL` in the middle of an index as fixing its order, so an
    # index (state, role, department_id, assignee_id, created_at) gave no created_at order there (a scan of every
    # open task of the role).
    __table_args__ = (
        db.Index("ix_human_tasks_mine", "state", "assignee_id", "created_at"),
        db.Index("ix_human_tasks_queue", "state", "role", "department_id", "created_at",
                 sqlite_where=db.text("assignee_id IS NULL"), postgresql_where=db.text("assignee_id IS NULL")),
        db.Index("ix_human_tasks_role_queue", "state", "role", "created_at",
                 sqlite_where=db.text("assignee_id IS NULL AND department_id IS NULL"),
                 postgresql_where=db.text("assignee_id IS NULL AND department_id IS NULL")),
        # a supervisor's unclaimed source: every department's (SQLite without statistics reads that source from
        # ix_human_tasks_role_open below just as well; PostgreSQL may prefer this smaller one)
        db.Index("ix_human_tasks_unclaimed", "state", "role", "created_at",
                 sqlite_where=db.text("assignee_id IS NULL"), postgresql_where=db.text("assignee_id IS NULL")),
        db.Index("ix_human_tasks_state_due", "state", "due_at"),
        # every open task of a role, claimed or not, oldest first (the escalation page)
        db.Index("ix_human_tasks_role_open", "role", "state", "created_at"),
        db.Index("ix_human_tasks_instance_state", "instance_id", "state"),  # the live diagram's heatmap; by instance
        # a ticket's tasks; its latest task of a name (previous holder, open namesake) in one read whatever the rounds
        db.Index("ix_human_tasks_ticket_name", "ticket_id", "name", "created_at"),
    )
    id = db.Column(db.String(36), primary_key=True)  # the SpiffWorkflow task id
    instance_id = db.Column(db.Integer, db.ForeignKey("process_instances.id"), nullable=False)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id"))
    # a task of a customer process (onboarding, care) has no ticket: it names its customer instead
    customer_id = db.Column(db.Integer, db.ForeignKey("customers.id"), index=True)
    name = db.Column(db.String(100), nullable=False)
    title = db.Column(db.String(200), nullable=False)
    role = db.Column(db.String(32), nullable=False)
    department_id = db.Column(db.Integer, db.ForeignKey("departments.id"))
    assignee_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    form = db.Column(db.String(100))
    state = db.Column(db.String(16), nullable=False, default="open")
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)
    due_at = db.Column(db.DateTime(timezone=True))
    completed_at = db.Column(db.DateTime(timezone=True))
    completed_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    # the process data the form shows, as JSON text, written when the task opens (a ready task's data does not
    # change until it completes); NULL when it held more than plain JSON, or the task opened before this column
    form_data = db.Column(db.Text)

    ticket = db.relationship(Ticket)
    customer = db.relationship(Customer)
    assignee = db.relationship(User, foreign_keys=[assignee_id])


def is_open(state):
    """`state = 'open'` for a query that a ticket's (or a customer's) id already narrows to a few tasks.

    Written as `state || '' = 'open'` so that SQLite, which keeps no statistics here, does not read the open tasks
    through an index that starts with state (every open task of every ticket, a scan that grows with the whole
    desk) instead of the ticket's index. PostgreSQL plans by its statistics either way."""
    return state.concat(db.literal_column("''")) == "open"
