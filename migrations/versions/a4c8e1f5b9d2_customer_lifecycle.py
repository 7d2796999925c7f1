"""customer lifecycle: status (onboarding / active / refused), service dates, the customer's processes,
agreement documents, and human tasks of a customer process (no ticket)

Revision ID: a4c8e1f5b9d2
Revises: c8e2f4a1b7d3
Create Date: 2026-12-06 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a4c8e1f5b9d2'
down_revision = 'c8e2f4a1b7d3'
branch_labels = None
depends_on = None


def upgrade():
    # plain ADD COLUMN: a batch copy of customers would drop its search-index triggers, and of human_tasks fails
    # while other tables reference it; existing customers are active (the server default fills their rows)
    op.add_column('customers', sa.Column('status', sa.String(length=16), nullable=False, server_default='active'))
    op.add_column('customers', sa.Column('status_reason', sa.String(length=500), nullable=True))
    op.add_column('customers', sa.Column('profile', sa.JSON(), nullable=True))
    for column in ('delivery_date', 'purchase_date', 'contract_start', 'contract_end'):
        op.add_column('customers', sa.Column(column, sa.Date(), nullable=True))
    op.execute('ALTER TABLE customers ADD COLUMN onboarding_instance_id INTEGER '
               'CONSTRAINT fk_customers_onboarding_instance REFERENCES process_instances (id)')
    op.execute('ALTER TABLE customers ADD COLUMN care_instance_id INTEGER '
               'CONSTRAINT fk_customers_care_instance REFERENCES process_instances (id)')
    op.create_index('ix_customers_onboarding_instance_id', 'customers', ['onboarding_instance_id'])
    op.create_index('ix_customers_care_instance_id', 'customers', ['care_instance_id'])
    op.execute('ALTER TABLE human_tasks ADD COLUMN customer_id INTEGER '
               'CONSTRAINT fk_human_tasks_customer REFERENCES customers (id)')
    op.create_index('ix_human_tasks_customer_id', 'human_tasks', ['customer_id'])
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
    op.drop_index('ix_human_tasks_customer_id', table_name='human_tasks')
    op.execute('ALTER TABLE human_tasks DROP COLUMN customer_id')
    op.drop_index('ix_customers_care_instance_id', table_name='customers')
    op.drop_index('ix_customers_onboarding_instance_id', table_name='customers')
    for column in ('care_instance_id', 'onboarding_instance_id', 'contract_end', 'contract_start',
                   'purchase_date', 'delivery_date', 'profile', 'status_reason', 'status'):
        op.execute(f'ALTER TABLE customers DROP COLUMN {column}')
