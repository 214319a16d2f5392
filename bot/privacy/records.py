"""One implementation that finds, exports and erases what is kept about a person, used by the user's erasure,
staff's requests in the back office and the retention purge alike.

Where a person's data is kept (docs/privacy.md):
- the tracker store (Rasa's `events` table): every message of a conversation, the handoff form's answers too;
- the handoff store: a ticket's name, contact, question and transcript, its thread's messages, and the outbox's
  jobs that would deliver them (a job holds no text: it is built from the ticket when sent, so an erased ticket's
  undelivered jobs are failed, visibly);
- Review's decisions: the texts of the questions staff decided on.

Erasing a conversation deletes its events; erasing a ticket blanks its personal data and its thread's texts
and keeps the row (reference, status, times) so the project manager sees what happened; Review loses the
question texts the person typed. Each erasure, export and purge is recorded in `bot.privacy.log`, with counts
and never the data. Works on SQLite and PostgreSQL (SQLAlchemy Core).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    insert,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.analytics.review import review_decisions
from bot.faq.cases import normalise
from bot.handoff.database import make_engine
from bot.handoff.models import MessageJob, NotificationJob, ThreadMessage, Ticket
from bot.handoff.store import ERASED_BEFORE_DELIVERY as RETENTION_FAILED_JOB
from bot.handoff.validation import InvalidContact, validate_email, validate_phone
from bot.privacy import log

logger = logging.getLogger(__name__)

# Rasa's table, read and deleted from here, never created.
_events = Table(
    "events",
    MetaData(),
    Column("id", Integer),
    Column("sender_id", String),
    Column("type_name", String),
    Column("timestamp", Float),
    Column("data", Text),
)
_tickets, _notifications = Ticket.__table__, NotificationJob.__table__
_messages, _message_jobs = ThreadMessage.__table__, MessageJob.__table__

ERASED_BY_USER = "Personal data erased at the user's request."
ERASED_BY_STAFF = "Personal data erased on the person's request to staff."
REQUEST_FAILED_JOB = "personal data erased at the person's request before delivery"
_IN_CHUNK = 500  # bounded IN lists

# How staff may look a person up, and the key kind the record keeps (never the value).
KEY_KINDS = {
    "reference": "ticket reference",
    "email": "e-mail",
    "phone": "phone",
    "telegram": "Telegram user",
    "conversation": "conversation id",
}
_REFERENCE = re.compile(r"^RIS3-[A-Z0-9]{3,8}$")
_TELEGRAM_USER = re.compile(r"^-?\d{1,20}$")


class BadKey(ValueError):
    """A look-up key that cannot be what it claims to be; the message says why, for the person asking."""


class PrivacyStoreUnavailable(RuntimeError):
    """A database could not be read or written; the message names the setting, never the URL."""


@dataclass(frozen=True)
class Subject:
    """Everything kept about one person: their conversations and tickets."""

    conversation_ids: tuple[str, ...] = ()
    ticket_ids: tuple[int, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.conversation_ids and not self.ticket_ids


@dataclass
class Erased:
    """How much an erasure or purge erased (what the record keeps)."""

    conversations: int = 0
    events: int = 0
    tickets: int = 0
    thread_messages: int = 0
    deliveries_stopped: int = 0
    review_texts: int = 0

    def as_counts(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class _Texts:
    """What the person typed or gave, to recognise it in Review's texts."""

    exact: set[str] = field(default_factory=set)  # normalised whole questions
    inside: set[str] = field(default_factory=set)  # names and contacts, casefolded, found anywhere in a text

    def matches(self, text: str) -> bool:
        folded = text.casefold()
        return normalise(text) in self.exact or any(part in folded for part in self.inside)


def _chunks(values: Sequence[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield list(values[start : start + _IN_CHUNK])


def _tracker_engine(url: str) -> Engine | None:
    """None for a SQLite tracker store that does not exist yet (looking must not create an empty file)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not (parsed.database and Path(parsed.database).is_file()):
        return None
    return create_engine(parsed, pool_pre_ping=True)


# --- the parts shared by every caller: each takes a connection inside the caller's transaction ---------------


def delete_conversations(connection: Connection, conversation_ids: Sequence[str]) -> int:
    """Deletes the conversations' events; returns how many events."""
    deleted = 0
    for chunk in _chunks(conversation_ids):
        deleted += int(connection.execute(delete(_events).where(_events.c.sender_id.in_(chunk))).rowcount or 0)
    return deleted


def erase_tickets(connection: Connection, ticket_ids: Sequence[int], now: datetime, note: str | None) -> Erased:
    """Blanks the tickets' personal data and their threads' texts, fails what the outbox had yet to deliver for
    them, and, with a note, closes each ticket with that note in its thread so that the manager sees why."""
    erased = Erased()
    job_error = REQUEST_FAILED_JOB if note else RETENTION_FAILED_JOB
    for chunk in _chunks(ticket_ids):
        # Tickets erased before (an earlier request, the purge) are left as they are.
        chunk = [
            row.id
            for row in connection.execute(
                select(_tickets.c.id).where(_tickets.c.id.in_(chunk), _tickets.c.personal_data_erased_at.is_(None))
            )
        ]
        if not chunk:
            continue
        messages = select(_messages.c.id).where(_messages.c.ticket_id.in_(chunk))
        erased.deliveries_stopped += int(
            connection.execute(
                update(_notifications)
                .where(_notifications.c.status == "pending", _notifications.c.ticket_id.in_(chunk))
                .values(status="failed", last_error=job_error)
            ).rowcount
            or 0
        )
        erased.deliveries_stopped += int(
            connection.execute(
                update(_message_jobs)
                .where(_message_jobs.c.status.in_(("pending", "held")), _message_jobs.c.message_id.in_(messages))
                .values(status="failed", last_error=job_error)
            ).rowcount
            or 0
        )
        erased.thread_messages += int(
            connection.execute(
                update(_messages)
                .where(_messages.c.ticket_id.in_(chunk), _messages.c.text.is_not(None))
                .values(text=None)
            ).rowcount
            or 0
        )
        values: dict[str, Any] = {
            "name": None,
            "contact": None,
            "question": None,
            "transcript": None,
            "conversation_id": None,
            "personal_data_erased_at": now,
            "updated_at": now,
        }
        if note:
            values["status"] = "closed"
        erased.tickets += int(
            connection.execute(
                update(_tickets)
                .where(_tickets.c.id.in_(chunk), _tickets.c.personal_data_erased_at.is_(None))
                .values(**values)
            ).rowcount
            or 0
        )
        if note:
            connection.execute(
                insert(_messages),
                [
                    {"ticket_id": i, "kind": "system", "author": "system", "text": note, "created_at": now}
                    for i in chunk
                ],
            )
    return erased


def erase_review_texts(
    connection: Connection, texts: _Texts | None = None, decided_before: datetime | None = None
) -> int:
    """Takes question texts out of Review's decisions: those the person typed (texts), or all of the decisions
    made before decided_before (the retention). Who decided what, when and for which fact stays."""
    query = select(review_decisions.c.id, review_decisions.c.questions).where(review_decisions.c.questions != "[]")
    if decided_before is not None:
        query = query.where(review_decisions.c.decided_at < decided_before)
    erased = 0
    for decision_id, questions in connection.execute(query).all():
        listed = json.loads(questions)
        kept = [q for q in listed if texts is not None and not texts.matches(str(q.get("text", "")))]
        if len(kept) != len(listed):
            erased += len(listed) - len(kept)
            connection.execute(
                update(review_decisions)
                .where(review_decisions.c.id == decision_id)
                .values(questions=json.dumps(kept, ensure_ascii=False))
            )
    return erased


def _has_review_table(connection: Connection) -> bool:
    return inspect(connection).has_table("review_decisions")


# --- the store a caller uses ----------------------------------------------------------------------------------


class PersonalData:
    """The person's data across the tracker store and the handoff database (which holds Review's decisions and
    the record of privacy actions)."""

    def __init__(self, handoff_url: str, tracker_url: str | None) -> None:
        """tracker_url None: the caller has the conversation in hand and Rasa's tracker store deletes its events
        (an erasure from inside the conversation: actions/privacy.py)."""
        self.handoff: Engine = make_engine(handoff_url)
        self.tracker = _tracker_engine(tracker_url) if tracker_url else None

    def close(self) -> None:
        self.handoff.dispose()
        if self.tracker is not None:
            self.tracker.dispose()

    def _guard(self, what: str, exc: SQLAlchemyError) -> PrivacyStoreUnavailable:
        # The type only: a driver's message may quote the URL, and the URL may hold a password.
        if what == "tracker":
            return PrivacyStoreUnavailable(
                f"the conversation store failed ({type(exc).__name__}): check RIS3_TRACKER_DATABASE_URL"
            )
        return PrivacyStoreUnavailable(
            f"the handoff database failed ({type(exc).__name__}): check RIS3_HANDOFF_DATABASE_URL"
        )

    # finding

    def find(self, kind: str, value: str) -> Subject:
        """Everything kept under a key: a ticket reference, an e-mail address, a phone number, a Telegram user id
        or a conversation id. Raises BadKey for a key that cannot be one."""
        value = (value or "").strip()
        if not value:
            raise BadKey("enter what to look for")
        if len(value) > 254:
            raise BadKey("that is too long to be a reference, an address or a number")
        tickets = _tickets.c
        try:
            with self.handoff.connect() as connection:
                if kind == "reference":
                    reference = value.upper()
                    if not _REFERENCE.match(reference):
                        raise BadKey("a ticket reference looks like RIS3-7K2Q")
                    found = tickets.reference == reference
                    conversations: list[str] = []
                elif kind == "email":
                    try:
                        address = validate_email(value)
                    except InvalidContact:
                        raise BadKey("that is not an e-mail address") from None
                    found = func.lower(tickets.contact) == address.lower()
                    conversations = self._conversations_mentioning(address)
                elif kind == "phone":
                    try:
                        number = validate_phone(value)
                    except InvalidContact:
                        raise BadKey("that is not a phone number") from None
                    found = tickets.contact == number
                    conversations = self._conversations_mentioning(value)
                elif kind == "telegram":
                    if not _TELEGRAM_USER.match(value):
                        raise BadKey("a Telegram user id is a number (the user's or the private chat's id)")
                    conversations = self._telegram_conversations(value)
                    found = tickets.conversation_id.in_(conversations) if conversations else tickets.id.is_(None)
                elif kind == "conversation":
                    conversations = [value]
                    found = tickets.conversation_id == value
                else:
                    raise BadKey(f"unknown key kind: {kind}")
                if not inspect(connection).has_table("tickets"):  # not migrated yet: no ticket at all
                    return Subject(tuple(sorted(set(conversations))), ())
                rows = connection.execute(select(tickets.id, tickets.conversation_id).where(found)).all()
                ticket_conversations = [row.conversation_id for row in rows if row.conversation_id]
                more = connection.execute(
                    select(tickets.id).where(tickets.conversation_id.in_(conversations))
                ).all() if conversations else []
        except SQLAlchemyError as exc:
            raise self._guard("handoff", exc) from None
        ids = sorted({row.id for row in rows} | {row.id for row in more})
        return Subject(tuple(sorted(set(conversations) | set(ticket_conversations))), tuple(ids))

    def _conversations_mentioning(self, needle: str) -> list[str]:
        """Conversations whose events hold the text (an address or number typed into the chat)."""
        if self.tracker is None:
            return []
        escaped = needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        try:
            with self.tracker.connect() as connection:
                if not inspect(connection).has_table("events"):
                    return []
                rows = connection.execute(
                    select(_events.c.sender_id)
                    .where(func.lower(_events.c.data).like(f"%{escaped}%", escape="\\"))
                    .distinct()
                ).all()
        except SQLAlchemyError as exc:
            raise self._guard("tracker", exc) from None
        return [row.sender_id for row in rows]

    def _telegram_conversations(self, user: str) -> list[str]:
        """A Telegram user's private chat ("telegram:<id>") and their conversations in groups
        ("telegram:<chat>:<id>"; bot/channels/telegram_updates.py)."""
        if self.tracker is None:
            return [f"telegram:{user}"]
        try:
            with self.tracker.connect() as connection:
                if not inspect(connection).has_table("events"):
                    return [f"telegram:{user}"]
                rows = connection.execute(
                    select(_events.c.sender_id)
                    .where(
                        or_(_events.c.sender_id == f"telegram:{user}", _events.c.sender_id.like(f"telegram:%:{user}"))
                    )
                    .distinct()
                ).all()
        except SQLAlchemyError as exc:
            raise self._guard("tracker", exc) from None
        return sorted({f"telegram:{user}"} | {row.sender_id for row in rows})

    # reading

    def _conversation_events(self, conversation_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The user's and the bot's messages of each conversation, in order."""
        found: dict[str, list[dict[str, Any]]] = {}
        if self.tracker is None or not conversation_ids:
            return found
        try:
            with self.tracker.connect() as connection:
                if not inspect(connection).has_table("events"):
                    return found
                for chunk in _chunks(conversation_ids):
                    rows = connection.execute(
                        select(_events.c.sender_id, _events.c.type_name, _events.c.timestamp, _events.c.data)
                        .where(_events.c.sender_id.in_(chunk), _events.c.type_name.in_(("user", "bot")))
                        .order_by(_events.c.id)
                    ).all()
                    for row in rows:
                        data = json.loads(row.data or "{}")
                        found.setdefault(row.sender_id, []).append(
                            {
                                "from": row.type_name,
                                "time": datetime.fromtimestamp(row.timestamp or 0, timezone.utc).isoformat(),
                                "text": data.get("text"),
                            }
                        )
        except SQLAlchemyError as exc:
            raise self._guard("tracker", exc) from None
        return found

    def _tickets_of(self, connection: Connection, ticket_ids: Sequence[int]) -> list[dict[str, Any]]:
        out = []
        for chunk in _chunks(ticket_ids):
            for row in connection.execute(select(_tickets).where(_tickets.c.id.in_(chunk)).order_by(_tickets.c.id)):
                messages = connection.execute(
                    select(_messages.c.kind, _messages.c.author, _messages.c.text, _messages.c.created_at)
                    .where(_messages.c.ticket_id == row.id)
                    .order_by(_messages.c.id)
                ).all()
                out.append(
                    {
                        "reference": row.reference,
                        "status": row.status,
                        "name": row.name,
                        "contact": row.contact,
                        "contact_kind": row.contact_kind,
                        "question": row.question,
                        "language": row.language,
                        "channel": row.channel,
                        "conversation_id": row.conversation_id,
                        "created_at": row.created_at.isoformat(),
                        "personal_data_erased_at": (
                            row.personal_data_erased_at.isoformat() if row.personal_data_erased_at else None
                        ),
                        "transcript": json.loads(row.transcript) if row.transcript else [],
                        "thread": [
                            {"kind": m.kind, "author": m.author, "text": m.text, "at": m.created_at.isoformat()}
                            for m in messages
                        ],
                    }
                )
        return out

    def _texts(self, tickets: list[dict[str, Any]], conversations: dict[str, list[dict[str, Any]]]) -> _Texts:
        texts = _Texts()
        for ticket in tickets:
            for value in (ticket["name"], ticket["contact"]):
                if value and len(value.strip()) >= 3:
                    texts.inside.add(value.strip().casefold())
            if ticket["question"]:
                texts.exact.add(normalise(ticket["question"]))
            for message in ticket["thread"]:
                if message["kind"] == "user_addition" and message["text"]:
                    texts.exact.add(normalise(message["text"]))
        for events in conversations.values():
            for event in events:
                if event["from"] == "user" and event["text"] and not event["text"].startswith("/"):
                    texts.exact.add(normalise(event["text"]))
        texts.exact.discard("")
        return texts

    def preview(self, subject: Subject) -> dict[str, Any]:
        """What was found, to decide on: tickets by reference, status and date, conversations by id and size;
        not their contents (those are for an export, which is recorded)."""
        conversations = self._conversation_events(subject.conversation_ids)
        try:
            with self.handoff.connect() as connection:
                tickets = self._tickets_of(connection, subject.ticket_ids)
        except SQLAlchemyError as exc:
            raise self._guard("handoff", exc) from None
        return {
            "tickets": [
                {"reference": t["reference"], "status": t["status"], "created_at": t["created_at"],
                 "erased": t["personal_data_erased_at"] is not None}
                for t in tickets
            ],
            "conversations": [{"conversation_id": c, "messages": len(m)} for c, m in sorted(conversations.items())],
        }

    def export(self, subject: Subject, actor: str, found_by: str = "") -> dict[str, Any]:
        """Everything kept about the person, as data (the back office shows it as JSON and as a page); the export
        itself is recorded."""
        conversations = self._conversation_events(subject.conversation_ids)
        try:
            log.ensure_schema(self.handoff)
            with self.handoff.begin() as connection:
                tickets = self._tickets_of(connection, subject.ticket_ids)
                texts = self._texts(tickets, conversations)
                review: list[str] = []
                if _has_review_table(connection):
                    for (questions,) in connection.execute(select(review_decisions.c.questions)).all():
                        review += [q["text"] for q in json.loads(questions) if texts.matches(str(q.get("text", "")))]
                log.record(
                    connection, log.EXPORT, log.BY_STAFF, actor,
                    {"conversations": len(conversations), "tickets": len(tickets), "review_texts": len(review)},
                    found_by,
                )
        except SQLAlchemyError as exc:
            raise self._guard("handoff", exc) from None
        return {
            "exported_at": datetime.now(timezone.utc).isoformat(),
            "conversations": [{"conversation_id": c, "messages": m} for c, m in sorted(conversations.items())],
            "tickets": tickets,
            "review_texts": review,
        }

    # erasing

    def erase(
        self,
        subject: Subject,
        *,
        requested_by: str,
        actor: str,
        found_by: str = "",
        now: datetime | None = None,
        conversation_texts: dict[str, list[str]] | None = None,
    ) -> Erased:
        """Erases everything of the person at once and records how much (not what). conversation_texts: what the
        user typed, when the caller has the conversation in hand rather than the tracker store."""
        now = now or datetime.now(timezone.utc)
        conversations = self._conversation_events(subject.conversation_ids)
        for conversation, typed in (conversation_texts or {}).items():
            conversations.setdefault(conversation, []).extend({"from": "user", "text": t} for t in typed)
        note = ERASED_BY_USER if requested_by == log.BY_USER else ERASED_BY_STAFF
        try:
            log.ensure_schema(self.handoff)
            with self.handoff.connect() as connection:
                texts = self._texts(self._tickets_of(connection, subject.ticket_ids), conversations)
        except SQLAlchemyError as exc:
            raise self._guard("handoff", exc) from None
        # The conversations first, in a transaction of their own (the tracker may be the same SQLite file): should
        # the handoff part then fail, the tickets still lead back to the person for the next attempt.
        events = self._delete_events(subject.conversation_ids)
        try:
            with self.handoff.begin() as connection:
                erased = erase_tickets(connection, list(subject.ticket_ids), now, note)
                if _has_review_table(connection):
                    erased.review_texts = erase_review_texts(connection, texts=texts)
                erased.events = events
                erased.conversations = len(conversations)
                log.record(connection, log.ERASE, requested_by, actor, erased.as_counts(), found_by, now)
        except SQLAlchemyError as exc:
            raise self._guard("handoff", exc) from None
        logger.info(
            "privacy: erased at the %s's request: %d conversations, %d tickets",
            requested_by, erased.conversations, erased.tickets,
        )
        return erased

    def _delete_events(self, conversation_ids: Sequence[str]) -> int:
        if self.tracker is None or not conversation_ids:
            return 0
        try:
            with self.tracker.begin() as connection:
                if not inspect(connection).has_table("events"):
                    return 0
                return delete_conversations(connection, conversation_ids)
        except SQLAlchemyError as exc:
            raise self._guard("tracker", exc) from None

    def purge(self, older_than_days: int, now: datetime | None = None) -> Erased:
        """The retention: tickets created, conversations last active and Review decisions made more than
        older_than_days ago lose their personal data, through the same parts as an erasure."""
        if older_than_days < 0:
            raise ValueError("the retention is 0 days or more")
        now = now or datetime.now(timezone.utc)
        cutoff = now - timedelta(days=older_than_days)
        erased = Erased()
        if self.tracker is not None:
            try:
                with self.tracker.begin() as connection:
                    if inspect(connection).has_table("events"):
                        stale = [
                            row[0]
                            for row in connection.execute(
                                select(_events.c.sender_id)
                                .group_by(_events.c.sender_id)
                                .having(func.max(_events.c.timestamp) < cutoff.timestamp())
                            )
                        ]
                        erased.conversations = len(stale)
                        erased.events = delete_conversations(connection, stale)
            except SQLAlchemyError as exc:
                raise self._guard("tracker", exc) from None
        try:
            log.ensure_schema(self.handoff)
            with self.handoff.begin() as connection:
                if not inspect(connection).has_table("tickets"):  # not migrated yet: no ticket to erase
                    log.record(connection, log.PURGE, log.BY_RETENTION, f"{older_than_days} days", erased.as_counts())
                    return erased
                old = [
                    row.id
                    for row in connection.execute(
                        select(_tickets.c.id).where(
                            _tickets.c.created_at < cutoff, _tickets.c.personal_data_erased_at.is_(None)
                        )
                    )
                ]
                tickets = erase_tickets(connection, old, now, None)
                erased.tickets, erased.thread_messages = tickets.tickets, tickets.thread_messages
                erased.deliveries_stopped = tickets.deliveries_stopped
                if _has_review_table(connection):
                    erased.review_texts = erase_review_texts(connection, decided_before=cutoff)
                if any(erased.as_counts().values()):
                    log.record(connection, log.PURGE, log.BY_RETENTION, f"{older_than_days} days", erased.as_counts())
        except SQLAlchemyError as exc:
            raise self._guard("handoff", exc) from None
        logger.info(
            "retention purge (%d days): %d conversations, %d tickets, %d review texts erased",
            older_than_days, erased.conversations, erased.tickets, erased.review_texts,
        )
        return erased
