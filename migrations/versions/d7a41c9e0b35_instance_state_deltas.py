"""instance state as a snapshot plus per-step deltas

Revision ID: d7a41c9e0b35
Revises: e7a3c9d5b1f4
Create Date: 2026-12-04 18:20:00.000000

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7a41c9e0b35'
down_revision = 'e7a3c9d5b1f4'
branch_labels = None
depends_on = None


def upgrade():
    # added in place (no table copy: on SQLite that would trip the foreign keys pointing at process_instances);
    # every stored state so far is whole: its snapshot is at the instance's version
    op.add_column('process_instances',
                  sa.Column('snapshot_version', sa.Integer(), nullable=False, server_default='1'))
    op.execute("UPDATE process_instances SET snapshot_version = version")

    op.create_table('instance_deltas',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('delta', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_instance_deltas_instance_id_process_instances')),
    sa.PrimaryKeyConstraint('instance_id', 'version', name=op.f('pk_instance_deltas'))
    )


def downgrade():
    # fold each instance's deltas into its state (as app.engine.store.apply_delta does), then drop them
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT d.instance_id, d.delta, p.state FROM instance_deltas d JOIN process_instances p ON p.id = d.instance_id"
        " WHERE d.version > p.snapshot_version ORDER BY d.instance_id, d.version")).all()
    states = {}
    for instance_id, delta, state in rows:
        _apply_delta(states.setdefault(instance_id, json.loads(state)), json.loads(delta))
    for instance_id, dct in states.items():
        conn.execute(sa.text("UPDATE process_instances SET state = :state WHERE id = :id"),
                     {"state": json.dumps(dct, separators=(",", ":")), "id": instance_id})
    op.drop_table('instance_deltas')
    op.execute("ALTER TABLE process_instances DROP COLUMN snapshot_version")  # in place on SQLite too


def _apply_delta(dct, delta):
    def apply(target, change):
        target.update(change.get("fields", {}))
        target["tasks"].update(change.get("tasks", {}))
        for key in change.get("removed", ()):
            del target["tasks"][key]

    apply(dct, delta)
    for key, change in delta.get("subprocesses", {}).items():
        if "new" in change:
            dct["subprocesses"][key] = change["new"]
        else:
            apply(dct["subprocesses"][key], change)
    for key in delta.get("removed_subprocesses", ()):
        del dct["subprocesses"][key]
