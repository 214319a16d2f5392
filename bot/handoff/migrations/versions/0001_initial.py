"""Tickets and their notification jobs.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Written out rather than imported from models.py: a migration must stay as it was when models change.
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("contact", sa.String(254), nullable=True),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("contact_kind", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("personal_data_erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
        sa.UniqueConstraint("reference", name="uq_tickets_reference"),
        sa.CheckConstraint("status IN ('open', 'answered', 'closed')", name="ck_tickets_status"),
        sa.CheckConstraint("contact_kind IN ('email', 'phone')", name="ck_tickets_contact_kind"),
    )
    op.create_index("ix_tickets_created_at", "tickets", ["created_at"])
    op.create_table(
        "notification_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notification_jobs"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_notification_jobs_ticket_id_tickets", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("ticket_id", "kind", name="uq_notification_jobs_ticket_id_kind"),
        sa.CheckConstraint("kind IN ('email', 'telegram', 'webhook')", name="ck_notification_jobs_kind"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="ck_notification_jobs_status"),
    )
    op.create_index("ix_notification_jobs_due", "notification_jobs", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_notification_jobs_due", table_name="notification_jobs")
    op.drop_table("notification_jobs")
    op.drop_index("ix_tickets_created_at", table_name="tickets")
    op.drop_table("tickets")
