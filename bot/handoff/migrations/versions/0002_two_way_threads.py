"""Two-way handoff: the ticket's conversation, its thread of messages and their delivery jobs; the
states new, answered, waiting, closed (the old "open" becomes "new").

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MESSAGE_ROUTES = (
    "manager_email", "manager_telegram", "manager_webhook", "user_telegram", "user_web", "user_rest", "user_email"
)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint("ck_tickets_status", type_="check")
    op.execute("UPDATE tickets SET status = 'new' WHERE status = 'open'")
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("conversation_id", sa.String(200), nullable=True))
        batch.create_check_constraint("ck_tickets_status", "status IN ('new', 'answered', 'waiting', 'closed')")
        batch.create_index("ix_tickets_conversation_id", ["conversation_id"])
    with op.batch_alter_table("notification_jobs") as batch:
        batch.add_column(sa.Column("external_id", sa.String(64), nullable=True))
    op.create_table(
        "thread_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_thread_messages"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_thread_messages_ticket_id_tickets", ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "kind IN ('user_addition', 'manager_reply', 'system')", name="ck_thread_messages_kind"
        ),
    )
    op.create_index("ix_thread_messages_ticket_id", "thread_messages", ["ticket_id"])
    op.create_table(
        "message_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("route", sa.String(24), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_message_jobs"),
        sa.ForeignKeyConstraint(
            ["message_id"], ["thread_messages.id"], name="fk_message_jobs_message_id_thread_messages",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("message_id", "route", name="uq_message_jobs_message_id_route"),
        sa.CheckConstraint(f"route IN ({_in(MESSAGE_ROUTES)})", name="ck_message_jobs_route"),
        sa.CheckConstraint("status IN ('pending', 'held', 'sent', 'failed')", name="ck_message_jobs_status"),
    )
    op.create_index("ix_message_jobs_message_id", "message_jobs", ["message_id"])
    op.create_index("ix_message_jobs_due", "message_jobs", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_message_jobs_due", table_name="message_jobs")
    op.drop_index("ix_message_jobs_message_id", table_name="message_jobs")
    op.drop_table("message_jobs")
    op.drop_index("ix_thread_messages_ticket_id", table_name="thread_messages")
    op.drop_table("thread_messages")
    with op.batch_alter_table("notification_jobs") as batch:
        batch.drop_column("external_id")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_conversation_id")
        batch.drop_constraint("ck_tickets_status", type_="check")
        batch.drop_column("conversation_id")
    op.execute("UPDATE tickets SET status = 'open' WHERE status IN ('new', 'waiting')")
    with op.batch_alter_table("tickets") as batch:
        batch.create_check_constraint("ck_tickets_status", "status IN ('open', 'answered', 'closed')")
