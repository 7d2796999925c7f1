"""customer lifecycle: status (onboarding / active / refused), service dates, the customer's processes,
agreement documents, and human tasks of a customer process (no ticket)

Revision ID: a4c8e1f5b9d2
Revises: f3b8d1c6a2e5
Create Date: 2026-12-06 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a4c8e1f5b9d2'
down_revision = 'f3b8d1c6a2e5'
branch_labels = None
depends_on = None


def upgrade():
    # existing customers are active: the server default fills their rows
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False, server_default='active'))
        batch_op.add_column(sa.Column('status_reason', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('profile', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('delivery_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('purchase_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('contract_start', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('contract_end', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('onboarding_instance_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('care_instance_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_customers_onboarding_instance_id', ['onboarding_instance_id'], unique=False)
        batch_op.create_index('ix_customers_care_instance_id', ['care_instance_id'], unique=False)
        batch_op.create_foreign_key('fk_customers_onboarding_instance', 'process_instances',
                                    ['onboarding_instance_id'], ['id'])
        batch_op.create_foreign_key('fk_customers_care_instance', 'process_instances', ['care_instance_id'], ['id'])
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_human_tasks_customer_id', ['customer_id'], unique=False)
        batch_op.create_foreign_key('fk_human_tasks_customer', 'customers', ['customer_id'], ['id'])
    op.create_table(
        'customer_documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('stored_name', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=True),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_customer_documents_customer_id', 'customer_documents', ['customer_id'], unique=False)


def downgrade():
    op.drop_index('ix_customer_documents_customer_id', table_name='customer_documents')
    op.drop_table('customer_documents')
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_constraint('fk_human_tasks_customer', type_='foreignkey')
        batch_op.drop_index('ix_human_tasks_customer_id')
        batch_op.drop_column('customer_id')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_constraint('fk_customers_care_instance', type_='foreignkey')
        batch_op.drop_constraint('fk_customers_onboarding_instance', type_='foreignkey')
        batch_op.drop_index('ix_customers_care_instance_id')
        batch_op.drop_index('ix_customers_onboarding_instance_id')
        for column in ('care_instance_id', 'onboarding_instance_id', 'contract_end', 'contract_start',
                       'purchase_date', 'delivery_date', 'profile', 'status_reason', 'status'):
            batch_op.drop_column(column)
