"""survey scores: one row per choice answer of a completed survey, for the reports' 1-5 distributions

Revision ID: e1d7c3a9f5b2
Revises: a4c8e1f5b9d2
Create Date: 2026-12-05 08:00:00

"""
import json

from alembic import op
import sqlalchemy as sa


revision = 'e1d7c3a9f5b2'
down_revision = 'a4c8e1f5b9d2'
branch_labels = None
depends_on = None

COMMENT_FIELD = "comment"


def upgrade():
    scores = op.create_table(
        'survey_scores',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('dimension', sa.String(length=64), nullable=False),
        sa.Column('value', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['survey_id'], ['surveys.id']),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_survey_scores_survey_id', 'survey_scores', ['survey_id'])
    op.create_index('ix_survey_scores_ticket_dimension', 'survey_scores', ['ticket_id', 'dimension', 'value'])
    # surveys answered before this table: their integer answers and short codes become scores (free text stays)
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, ticket_id, answers FROM surveys "
                                "WHERE status = 'completed' AND answers IS NOT NULL")).all()
    found = []
    for survey_id, ticket_id, answers in rows:
        answers = json.loads(answers) if isinstance(answers, str) else answers
        for name, value in (answers or {}).items():
            if name != COMMENT_FIELD and _is_choice(value):
                found.append({"survey_id": survey_id, "ticket_id": ticket_id, "dimension": name[:64],
                              "value": str(value)})
    if found:
        op.bulk_insert(scores, found)


def _is_choice(value):
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and 0 < len(value) <= 32 and value.isidentifier())


def downgrade():
    op.drop_index('ix_survey_scores_ticket_dimension', table_name='survey_scores')
    op.drop_index('ix_survey_scores_survey_id', table_name='survey_scores')
    op.drop_table('survey_scores')
