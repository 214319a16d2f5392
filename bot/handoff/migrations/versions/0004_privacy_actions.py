"""The record of privacy actions (bot/privacy/log.py) under the migrations like every other table: who erased
or exported what and when, and how much, never the data. The release that introduced it created the table at
first use; on such a database this revision finds it and only records itself.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.handoff.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "privacy_actions" in set(sa.inspect(op.get_bind()).get_table_names()):
        return
    op.create_table(
        "privacy_actions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("found_by", sa.String(40), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
    )
    op.create_index("ix_privacy_actions_at", "privacy_actions", ["at"])


def downgrade() -> None:
    # The record outlives a rollback: it holds no personal data, and an earlier release never reads it.
    pass
