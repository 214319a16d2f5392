"""Review's decisions (bot/analytics/review.py) under the migrations like every other table: a decision per
group of questions, and the questions it settled. Earlier versions created these two tables at start-up;
on such a database this revision finds them and only records itself.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "review_decisions" not in existing:
        op.create_table(
            "review_decisions",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("group_id", sa.String(64), nullable=False, unique=True),
            sa.Column("decision", sa.String(20), nullable=False),
            sa.Column("fact_id", sa.String(100), nullable=True),
            sa.Column("note", sa.Text(), nullable=False),
            sa.Column("decided_by", sa.String(200), nullable=False),
            sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("questions", sa.Text(), nullable=False),
            sa.Column("changes", sa.Text(), nullable=False),
        )
    if "review_questions" not in existing:
        op.create_table(
            "review_questions",
            sa.Column("question_hash", sa.String(64), primary_key=True),
            sa.Column(
                "decision_id",
                sa.Integer(),
                sa.ForeignKey("review_decisions.id", ondelete="CASCADE"),
                nullable=False,
            ),
        )


def downgrade() -> None:
    # The tables and their decisions stay: the release before this one creates the same tables itself when
    # they are missing and uses them as they are, so a rollback loses no decision.
    pass
