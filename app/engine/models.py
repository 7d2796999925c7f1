"""Tables the engine owns: deployed definitions (versioned), instance state (snapshot and deltas), pending timers."""
from app.clock import now
from app.extensions import db


class ProcessDefinition(db.Model):
    """One deployed version of one BPMN process, with the decision tables and forms it was deployed with."""

    __tablename__ = "process_definitions"
    __table_args__ = (
        db.UniqueConstraint("name", "version", name="uq_process_definitions_name_version"),
        db.Index("ix_process_definitions_name_hash", "name", "content_hash"),  # a roll-back repeats a content
    )
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, index=True)
    version = db.Column(db.Integer, nullable=False)
    content_hash = db.Column(db.String(64), nullable=False)
    filename = db.Column(db.String(255), nullable=False)
    bpmn_xml = db.Column(db.Text, nullable=False)
    dmn_xml = db.Column(db.JSON, nullable=False, default=dict)
    forms = db.Column(db.JSON, nullable=False, default=dict)
    deployed_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)
    deployed_by = db.Column(db.String(64))
    comment = db.Column(db.Text)  # why this version was deployed (the studio asks for it)
    restored_from = db.Column(db.Integer)  # the earlier version this one deploys again (a roll-back), else None
    # the scenario texts (file name -> YAML/JSON) this version passed when deployed; None: deployed before they
    # were stored (the studio then reads the scenario files in workflows/)
    scenarios = db.Column(db.JSON)


class ProcessInstance(db.Model):
    """A running or finished process. `state` is the SpiffWorkflow serialization without its spec as it was at
    `snapshot_version`; the InstanceDelta rows after it bring it to `version` (see engine.store)."""

    __tablename__ = "process_instances"
    __table_args__ = (db.Index("ix_process_instances_definition_status", "definition_id", "status"),)  # live diagram
    id = db.Column(db.Integer, primary_key=True)
    definition_id = db.Column(db.Integer, db.ForeignKey("process_definitions.id"), nullable=False, index=True)
    state = db.Column(db.Text, nullable=False)
    serializer_version = db.Column(db.String(16), nullable=False)
    version = db.Column(db.Integer, nullable=False, default=1)
    snapshot_version = db.Column(db.Integer, nullable=False, default=1, server_default="1")
    status = db.Column(db.String(16), nullable=False, default="running", index=True)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)
    updated_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)

    definition = db.relationship(ProcessDefinition)


class InstanceDelta(db.Model):
    """What one step changed in an instance's state (engine.store writes and reads it); `version` is the
    instance version the step produced."""

    __tablename__ = "instance_deltas"
    instance_id = db.Column(db.Integer, db.ForeignKey("process_instances.id"), primary_key=True)
    version = db.Column(db.Integer, primary_key=True, autoincrement=False)
    delta = db.Column(db.Text, nullable=False)


class PendingTimer(db.Model):
    """A timer event waiting in an instance; the scheduler claims due rows so each fires once."""

    __tablename__ = "timers"
    id = db.Column(db.Integer, primary_key=True)
    instance_id = db.Column(db.Integer, db.ForeignKey("process_instances.id"), nullable=False, index=True)
    task_id = db.Column(db.String(36), nullable=False)
    name = db.Column(db.String(100))
    due_at = db.Column(db.DateTime(timezone=True), nullable=False, index=True)
    claimed_by = db.Column(db.String(64))
    claimed_until = db.Column(db.DateTime(timezone=True))
