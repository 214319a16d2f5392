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

# new: the project manager has not answered since the user last wrote; answered: he has; waiting: he
# waits for the user (asked something back); closed: the thread is over and the bot alone answers.
TICKET_STATUSES = ("new", "answered", "waiting", "closed")
OPEN_STATUSES = ("new", "answered", "waiting")
JOB_STATUSES = ("pending", "sent", "failed")
JOB_KINDS = ("email", "telegram", "webhook")
CONTACT_KINDS = ("email", "phone")
# A ticket's thread after its creation: what the user added, what the manager replied, what the system said
# (the ticket was closed).
MESSAGE_KINDS = ("user_addition", "manager_reply", "system")
# Where a thread message goes: to the manager (a user's addition, as the first notification went) or to the
# user, back into the conversation the ticket came from (and by e-mail when the contact is an address).
MANAGER_ROUTES = ("manager_email", "manager_telegram", "manager_webhook")
USER_ROUTES = ("user_telegram", "user_web", "user_rest", "user_email")
ROUTES = MANAGER_ROUTES + USER_ROUTES
# held: waiting for the user to come back (the website with no page open, REST until the next message);
# the channel takes it then.
MESSAGE_JOB_STATUSES = ("pending", "held", "sent", "failed")

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
    status: Mapped[str] = mapped_column(String(16), default="new")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    personal_data_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The Rasa conversation the ticket came from ("web:…", "telegram:…", "rest:…"): the only place the
    # manager's replies go. Personal data (it leads to the user's chat): erased by the purge.
    conversation_id: Mapped[str | None] = mapped_column(String(200), index=True)
    # The staff account that last changed the status (a reply, a closing, a button); NULL until one does.
    status_changed_by: Mapped[str | None] = mapped_column(String(100))

    jobs: Mapped[list[NotificationJob]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="NotificationJob.id"
    )
    messages: Mapped[list[ThreadMessage]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="ThreadMessage.id"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

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
            "conversation_id": self.conversation_id,
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
    # What the receiver calls the delivered message: the Telegram message id of the manager's notification,
    # so that his Telegram reply to it finds the ticket.
    external_id: Mapped[str | None] = mapped_column(String(64))

    ticket: Mapped[Ticket] = relationship(back_populates="jobs")


class ThreadMessage(Base):
    __tablename__ = "thread_messages"
    __table_args__ = (CheckConstraint(_in("kind", MESSAGE_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # "user", the manager's user name, "telegram" (his reply in Telegram), "system".
    author: Mapped[str] = mapped_column(String(100))
    # Personal data: NULL once erased by the retention purge.
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    jobs: Mapped[list[MessageJob]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="MessageJob.id"
    )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "author": self.author,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "deliveries": [job.as_dict() for job in self.jobs],
        }


class MessageJob(Base):
    """One route of one thread message, delivered through the outbox like the notifications."""

    __tablename__ = "message_jobs"
    __table_args__ = (
        CheckConstraint(_in("route", ROUTES), name="route"),
        CheckConstraint(_in("status", MESSAGE_JOB_STATUSES), name="status"),
        UniqueConstraint("message_id", "route"),
        Index("ix_message_jobs_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("thread_messages.id", ondelete="CASCADE"), index=True)
    route: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    external_id: Mapped[str | None] = mapped_column(String(64))

    message: Mapped[ThreadMessage] = relationship(back_populates="jobs")

    def as_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
        }
