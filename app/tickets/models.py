"""Tickets with their SLA deadline and measured-time columns, attachments and the append-only history."""
from app.auth.models import Department, User
from app.clock import now
from app.customers.models import Customer
from app.extensions import db

TICKET_TYPES = {
    "consultation": ("咨询", "Consultation"),
    "complaint": ("投诉", "Complaint"),
    "requirement_change": ("需求变更", "Requirement change"),
    "after_sales_support": ("售后支持", "After-sales support"),
    # the service-request flow's types (R2-1, R3-3; workflows/service_request.bpmn)
    "suggestion": ("建议", "Suggestion"),
    "technical_support": ("技术支持", "Technical support"),
    "handling": ("办理", "Handling"),
    # the after-sales flow's type (R1-1, R1-2; workflows/aftersales.bpmn classifies it further: hardware / software)
    "product_fault": ("产品故障", "Product fault"),
}
URGENCIES = {
    "high": ("高", "High"),
    "medium": ("中", "Medium"),
    "low": ("低", "Low"),
    # service requests (R2-1, R3-3): "normal" takes the type's default priority (service_request_priority.dmn);
    # "critical" (system outage, a key customer's business down) takes the emergency path
    "normal": ("普通", "Normal"),
    "urgent": ("紧急", "Urgent"),
    "critical": ("特急", "Critical"),
}
# a ticket's priority as its flow decided it: the urgency itself (quick_response), the service request's priority
# (service_request_priority.dmn) or P1-P4 (aftersales_priority.dmn); the reports group and filter by it
PRIORITIES = {
    "critical": ("特急", "Critical"),
    "urgent": ("紧急", "Urgent"),
    "high": ("高", "High"),
    "medium": ("中", "Medium"),
    "low": ("低", "Low"),
    "normal": ("普通", "Normal"),
    "P1": ("P1 核心业务/安全", "P1 core business or safety"),
    "P2": ("P2 主要功能", "P2 main function"),
    "P3": ("P3 非核心功能", "P3 non-core function"),
    "P4": ("P4 建议/咨询", "P4 suggestion or question"),
}
CHANNELS = {
    "phone": ("电话", "Phone"),
    "online": ("在线", "Online"),
    "email": ("邮件", "Email"),
    "branch": ("线下网点", "Branch"),
    "partner": ("合作伙伴", "Partner"),
}
STATUSES = {
    "new": ("新建", "New"),
    "pending_accept": ("待受理", "Pending acceptance"),
    "processing": ("处理中", "Processing"),
    "awaiting_customer": ("待客户确认", "Awaiting customer confirmation"),
    "awaiting_review": ("待审核", "Awaiting review"),
    "feedback": ("待反馈", "Awaiting feedback"),
    "reopened": ("已重开", "Reopened"),
    "closed": ("已完成", "Completed"),
    "pending_dispatch": ("待分派", "Pending dispatch"),  # a new service request (R2-1)
    "pending_close": ("待关闭", "Pending close"),  # a service request whose result the customer accepted
}


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (  # the ticket search, newest first: by date range, by customer, by status (R2-4)
        db.Index("ix_tickets_created", "created_at", "id"),
        db.Index("ix_tickets_customer_created", "customer_id", "created_at", "id"),
        db.Index("ix_tickets_status_created", "status", "created_at", "id"),
        db.Index("ix_tickets_pool", "accepted_at", "closed_at", "id"),  # the supervisors' ticket pool
        # a number prefix's creation range, read from the index alone (a month's prefix: see tickets.search)
        db.Index("ix_tickets_number_created", "number", "created_at"),
    )
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(32), unique=True, nullable=False)
    customer_id = db.Column(db.Integer, db.ForeignKey("customers.id"), nullable=False)
    type = db.Column(db.String(32), nullable=False)
    urgency = db.Column(db.String(16), nullable=False)
    priority = db.Column(db.String(16))  # see PRIORITIES: the urgency until the flow decides the priority
    channel = db.Column(db.String(16), nullable=False)
    description = db.Column(db.Text, nullable=False)
    status = db.Column(db.String(32), nullable=False, default="new")
    current_step = db.Column(db.String(200))
    department_id = db.Column(db.Integer, db.ForeignKey("departments.id"), index=True)
    assignee_id = db.Column(db.Integer, db.ForeignKey("users.id"), index=True)
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    # first-contact ownership: the first receiver (who accepted first) follows the ticket and confirms its result
    owner_id = db.Column(db.Integer, db.ForeignKey("users.id", name="fk_tickets_owner_id"), index=True)
    owner_confirmed_at = db.Column(db.DateTime(timezone=True))
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)
    # SLA deadlines (computed by the diagram) and measured times
    response_due_at = db.Column(db.DateTime(timezone=True), index=True)
    resolution_due_at = db.Column(db.DateTime(timezone=True), index=True)
    next_update_at = db.Column(db.DateTime(timezone=True))
    accept_due_at = db.Column(db.DateTime(timezone=True))  # end of the current 30-minute acceptance window
    accepted_at = db.Column(db.DateTime(timezone=True))
    responded_at = db.Column(db.DateTime(timezone=True))  # the current round's response (reset on a reopen)
    first_responded_at = db.Column(db.DateTime(timezone=True))
    resolved_at = db.Column(db.DateTime(timezone=True))
    # created -> first response / resolution in the ticket's working time (its calendar, pauses left out), set
    # with the time itself; the reports average them
    response_working_seconds = db.Column(db.Integer)
    resolution_working_seconds = db.Column(db.Integer)
    closed_at = db.Column(db.DateTime(timezone=True), index=True)  # NULL = open: the monitor's range
    escalated_at = db.Column(db.DateTime(timezone=True))
    reopen_count = db.Column(db.Integer, nullable=False, default=0)
    transfer_count = db.Column(db.Integer, nullable=False, default=0, server_default="0")  # see is_transfer
    solution = db.Column(db.Text)
    satisfaction = db.Column(db.String(32))
    survey_status = db.Column(db.String(16))  # the latest satisfaction survey: sent, completed or expired
    process_instance_id = db.Column(db.Integer, db.ForeignKey("process_instances.id"), index=True)

    customer = db.relationship(Customer)
    department = db.relationship(Department)
    assignee = db.relationship(User, foreign_keys=[assignee_id])
    created_by = db.relationship(User, foreign_keys=[created_by_id])
    owner = db.relationship(User, foreign_keys=[owner_id])


class Attachment(db.Model):
    __tablename__ = "attachments"
    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id"), nullable=False, index=True)
    filename = db.Column(db.String(255), nullable=False)
    stored_name = db.Column(db.String(255), nullable=False)
    content_type = db.Column(db.String(100))
    size = db.Column(db.Integer, nullable=False)
    uploaded_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    uploaded_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)


# history actions that moved a ticket to someone else: a transfer by its handler (app/collab/transfer.py), a
# supervisor's redispatch, and the supervisor's reassignment after a lapsed acceptance window (the reassign task)
TRANSFER_ACTIONS = frozenset(("transferred", "redispatched"))
REASSIGN_TASK = "reassign_ticket"


def is_transfer(action, detail):
    """True when a history row (action, detail) moved the ticket to someone else (the reports count these)."""
    return action in TRANSFER_ACTIONS or (action == "task_completed" and (detail or {}).get("task") == REASSIGN_TASK)


class TicketEvent(db.Model):
    """Append-only history of a ticket: who did what, when."""

    __tablename__ = "ticket_history"
    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id"), nullable=False, index=True)
    at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)
    actor = db.Column(db.String(64), nullable=False)
    action = db.Column(db.String(64), nullable=False)
    detail = db.Column(db.JSON, nullable=False, default=dict)
