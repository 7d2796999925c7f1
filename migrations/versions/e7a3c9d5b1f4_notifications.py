"""notifications: in-app notifications that double as the mail outbox; users get an e-mail address

Revision ID: e7a3c9d5b1f4
Revises: d7a4c2e9b1f3
Create Date: 2026-12-04 18:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7a3c9d5b1f4'
down_revision = 'd7a4c2e9b1f3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('ticket_number', sa.String(length=32), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('mail_state', sa.String(length=16), nullable=True),
    sa.Column('mail_attempts', sa.Integer(), nullable=False),
    sa.Column('mail_next_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('mail_claimed_by', sa.String(length=120), nullable=True),
    sa.Column('mail_claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('mail_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('mail_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_notifications_ticket_id_tickets')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_mail_due', ['mail_state', 'mail_next_at'], unique=False)
        batch_op.create_index('ix_notifications_user_list', ['user_id', 'id'], unique=False)
        batch_op.create_index('ix_notifications_user_read', ['user_id', 'read_at', 'id'], unique=False)
        batch_op.create_index('uq_notifications_task_user_kind', ['task_id', 'user_id', 'kind'], unique=True)


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('uq_notifications_task_user_kind')
        batch_op.drop_index('ix_notifications_user_read')
        batch_op.drop_index('ix_notifications_user_list')
        batch_op.drop_index('ix_notifications_mail_due')
    op.drop_table('notifications')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email')
