"""Customer records (R0-8) and the counters that number customers and tickets."""
from app.clock import now
from app.extensions import db

INDUSTRIES = {
    "manufacturing": ("制造业", "Manufacturing"),
    "finance": ("金融", "Finance"),
    "retail": ("零售", "Retail"),
    "it": ("信息技术", "Information technology"),
    "healthcare": ("医疗健康", "Healthcare"),
    "education": ("教育", "Education"),
    "energy": ("能源", "Energy"),
    "logistics": ("物流", "Logistics"),
    "government": ("政府及公共事业", "Government & public sector"),
    "other": ("其他", "Other"),
}


class Customer(db.Model):
    __tablename__ = "customers"
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(32), unique=True, nullable=False)
    name = db.Column(db.String(200), nullable=False, index=True)
    industry = db.Column(db.String(32), nullable=False)
    cooperation_start = db.Column(db.Date, nullable=False)
    contact_person = db.Column(db.String(100), nullable=False, index=True)
    phone = db.Column(db.String(11), nullable=False, index=True)
    email = db.Column(db.String(200))
    # lifecycle (R3-1): a customer registered with onboarding is "onboarding" until the onboarding process
    # activates or refuses it; customers created without onboarding are active at once
    status = db.Column(db.String(16), nullable=False, default="active", server_default="active")
    status_reason = db.Column(db.String(500))
    profile = db.Column(db.JSON)  # the details the onboarding's profile completion added (processes.PROFILE_FIELDS)
    # service dates (R0-9): the care process's timers are computed from them
    delivery_date = db.Column(db.Date)
    purchase_date = db.Column(db.Date)
    contract_start = db.Column(db.Date)
    contract_end = db.Column(db.Date)
    onboarding_instance_id = db.Column(db.Integer, db.ForeignKey("process_instances.id"), index=True)
    care_instance_id = db.Column(db.Integer, db.ForeignKey("process_instances.id"), index=True)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)
    updated_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now, onupdate=now)


CUSTOMER_STATUSES = {
    "onboarding": ("入驻审核中", "Onboarding"),
    "active": ("正常", "Active"),
    "refused": ("已拒绝", "Refused"),
}
SERVICE_DATES = ("delivery_date", "purchase_date", "contract_start", "contract_end")


class CustomerDocument(db.Model):
    """A file kept with a customer, e.g. the signed service agreement of the onboarding (kind "agreement")."""

    __tablename__ = "customer_documents"
    id = db.Column(db.Integer, primary_key=True)
    customer_id = db.Column(db.Integer, db.ForeignKey("customers.id"), nullable=False, index=True)
    kind = db.Column(db.String(32), nullable=False)
    filename = db.Column(db.String(255), nullable=False)
    stored_name = db.Column(db.String(255), nullable=False)
    content_type = db.Column(db.String(100))
    size = db.Column(db.Integer, nullable=False)
    uploaded_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    uploaded_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)


class Sequence(db.Model):
    """A named counter; taking a value locks the row until the transaction ends."""

    __tablename__ = "sequences"
    name = db.Column(db.String(64), primary_key=True)
    value = db.Column(db.Integer, nullable=False, default=0)
