"""Staff accounts with roles (bot/web/account_store.py), and who last changed each ticket's status.

An account has a user name, an argon2 password hash, its roles (manager, editor, admin), a disabled flag and
who created and last changed it, when. The account configured in the settings (RIS3_WEB_MANAGER_USER) is not
a row: it keeps working as before (docs/staff.md, "Accounts and roles").

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.handoff.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("roles", sa.String(64), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.UniqueConstraint("user_name", name="uq_staff_accounts_user_name"),
    )
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("status_changed_by", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("status_changed_by")
    op.drop_table("staff_accounts")
