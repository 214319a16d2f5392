"""The handoff tables. The schema is created and changed only by the migrations in migrations/;
tests check that the two agree."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator

from bot.handoff.draft import TranscriptEntry

TICKET_STATUSES = ("open", "answered", "closed")
JOB_STATUSES = ("pending", "sent", "failed")
JOB_KINDS = ("email", "telegram", "webhook")
CONTACT_KINDS = ("email", "phone")

# Fixed constraint names, so that the migrations can name the same constraints on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out. SQLite keeps no time zone, so its values are stored as naive UTC
    text (which also keeps its string comparisons right); PostgreSQL gets timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous: pass an aware (UTC) datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(_in("status", TICKET_STATUSES), name="status"),
        CheckConstraint(_in("contact_kind", CONTACT_KINDS), name="contact_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    # Personal data: NULL once erased by the retention purge.
    name: Mapped[str | None] = mapped_column(String(100))
    contact: Mapped[str | None] = mapped_column(String(254))
    question: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[str | None] = mapped_column(Text)  # JSON list of TranscriptEntry
    contact_kind: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    personal_data_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    jobs: Mapped[list[NotificationJob]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="NotificationJob.id"
    )

    @property
    def transcript_entries(self) -> list[TranscriptEntry]:
        entries: list[TranscriptEntry] = json.loads(self.transcript) if self.transcript else []
        return entries

    def as_dict(self) -> dict[str, Any]:
        """The ticket as the webhook and the back office see it."""
        return {
            "reference": self.reference,
            "status": self.status,
            "name": self.name,
            "contact": self.contact,
            "contact_kind": self.contact_kind,
            "question": self.question,
            "language": self.language,
            "channel": self.channel,
            "transcript": self.transcript_entries,
            "created_at": self.created_at.isoformat(),
            "personal_data_erased_at": (
                self.personal_data_erased_at.isoformat() if self.personal_data_erased_at else None
            ),
        }


class NotificationJob(Base):
    __tablename__ = "notification_jobs"
    __table_args__ = (
        CheckConstraint(_in("kind", JOB_KINDS), name="kind"),
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        UniqueConstraint("ticket_id", "kind"),
        # The outbox asks for pending jobs that are due, oldest first.
        Index("ix_notification_jobs_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Written from DeliveryError messages and redacted again before storing: no contact details.
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    ticket: Mapped[Ticket] = relationship(back_populates="jobs")
