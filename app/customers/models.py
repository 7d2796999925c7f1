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
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)
    updated_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now, onupdate=now)


class Sequence(db.Model):
    """A named counter; taking a value locks the row until the transaction ends."""

    __tablename__ = "sequences"
    name = db.Column(db.String(64), primary_key=True)
    value = db.Column(db.Integer, nullable=False, default=0)
