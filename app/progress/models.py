"""One row of a ticket's progress table."""
from app.clock import now
from app.extensions import db


class ProgressEntry(db.Model):
    __tablename__ = "progress_entries"
    __table_args__ = (db.Index("ix_progress_entries_ticket", "ticket_id", "planned_date", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id"), nullable=False)
    stage = db.Column(db.String(100), nullable=False)  # 处理阶段
    owner_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)  # 负责人
    planned_date = db.Column(db.Date, nullable=False)  # 计划完成时间
    actual_date = db.Column(db.Date)  # 实际完成时间; NULL = not done yet
    note = db.Column(db.Text, nullable=False)  # 处理进展描述
    remarks = db.Column(db.String(500), nullable=False, default="")  # 备注（如需客户配合事项）
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)
    updated_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    updated_at = db.Column(db.DateTime(timezone=True))
