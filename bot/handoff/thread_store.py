"""A ticket's thread in the store: the user's additions, the manager's replies, the closing notice, each
stored in one transaction with its delivery jobs (one per route), and the jobs' delivery bookkeeping.

Mixed into HandoffStore (bot/handoff/store.py), whose sessions, clock and error mapping it uses.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session, selectinload

from bot.handoff.models import (
    MANAGER_ROUTES,
    OPEN_STATUSES,
    MessageJob,
    NotificationJob,
    ThreadMessage,
    Ticket,
)
from bot.handoff.redaction import redact
from bot.handoff.thread_texts import closed_notice, user_text
from bot.handoff.validation import InvalidInput

MAX_MESSAGE_CHARS = 4000  # one Telegram message, with room for the reply's heading
# A user writing several messages in a row gives the manager one notification per ticket in this time.
ADDITION_NOTICE_INTERVAL = timedelta(minutes=15)
MANAGER_ROUTE_OF_CHANNEL = {"email": "manager_email", "telegram": "manager_telegram", "webhook": "manager_webhook"}
# Routes that have nothing to push: the user's channel takes the message when the user comes back.
HELD_AT_ONCE = frozenset({"user_rest"})


class TicketNotFound(LookupError):
    pass


class TicketClosed(RuntimeError):
    """The ticket's thread has ended: nothing more is added to it."""


def check_text(text: object) -> str:
    """A message's text: a non-empty string of at most MAX_MESSAGE_CHARS, stripped."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("empty_message")
    text = text.strip()
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput("message_too_long")
    if "\x00" in text:
        raise InvalidInput("invalid_message")
    return text


def user_routes(ticket: Ticket, email_available: bool) -> list[str]:
    """Where a message for the user goes: back into the conversation the ticket came from, and by e-mail
    when the user gave an address (so a reply is never only in a chat nobody opens again)."""
    conversation = ticket.conversation_id or ""
    routes = []
    if conversation.startswith("telegram:"):
        # A group member's conversation ("telegram:<group>:<member>") would put the reply before the whole
        # group: such a ticket is answered by e-mail only (the form runs in private chats anyway).
        if conversation.count(":") == 1:
            routes.append("user_telegram")
    elif conversation.startswith("web:"):
        routes.append("user_web")
    elif conversation.startswith("rest:"):
        routes.append("user_rest")
    if email_available and ticket.contact_kind == "email" and ticket.contact:
        routes.append("user_email")
    return routes


class ThreadStoreMixin:
    _clock: Any

    def _session(self) -> AbstractContextManager[Session]:  # provided by HandoffStore
        raise NotImplementedError

    def _ticket_for_update(self, session: Session, reference: str) -> Ticket:
        ticket = session.scalars(
            select(Ticket).options(selectinload(Ticket.jobs)).where(Ticket.reference == reference).with_for_update()
        ).one_or_none()
        if ticket is None:
            raise TicketNotFound(reference)
        return ticket

    def _add(
        self, session: Session, ticket: Ticket, kind: str, author: str, text: str, routes: Sequence[str], now: datetime
    ) -> ThreadMessage:
        message = ThreadMessage(ticket_id=ticket.id, kind=kind, author=author, text=text, created_at=now)
        message.jobs = [
            MessageJob(
                route=route,
                status="held" if route in HELD_AT_ONCE else "pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for route in dict.fromkeys(routes)
        ]
        session.add(message)
        ticket.updated_at = now
        session.flush()
        return message

    def reply(
        self, reference: str, author: str, text: str, *, email_available: bool, waiting: bool = False
    ) -> ThreadMessage:
        """The manager's reply, with one delivery job per route to the user; the ticket becomes answered
        (or waiting, when he waits for the user). Raises TicketNotFound, TicketClosed, InvalidInput."""
        text = check_text(text)
        with self._session() as session, session.begin():
            ticket = self._ticket_for_update(session, reference)
            if ticket.status not in OPEN_STATUSES:
                raise TicketClosed(reference)
            if ticket.personal_data_erased_at is not None:
                raise TicketClosed(reference)
            now = self._clock()
            message = self._add(
                session, ticket, "manager_reply", author, text, user_routes(ticket, email_available), now
            )
            ticket.status = "waiting" if waiting else "answered"
            ticket.status_changed_by = author[:100]
        return self._message(message.id)

    def close_ticket(self, reference: str, author: str, *, email_available: bool) -> Ticket:
        """Close the ticket and tell the user (a system message on the user's routes). Closing a closed
        ticket changes nothing."""
        with self._session() as session, session.begin():
            ticket = self._ticket_for_update(session, reference)
            if ticket.status == "closed":
                return ticket
            now = self._clock()
            ticket.status = "closed"
            ticket.status_changed_by = author[:100]
            if ticket.personal_data_erased_at is None:
                routes = [r for r in user_routes(ticket, email_available) if r != "user_email"]
                self._add(session, ticket, "system", "system", closed_notice(ticket), routes, now)
            ticket.updated_at = now
        return ticket

    def add_user_message(self, reference: str, text: str, manager_channels: Sequence[str]) -> ThreadMessage:
        """What the user adds to an open request. The manager is notified through his channels, at most
        once per ticket per ADDITION_NOTICE_INTERVAL: while a notification is waiting, later additions
        ride along with it. Raises TicketNotFound, TicketClosed, InvalidInput."""
        text = check_text(text)
        routes = [MANAGER_ROUTE_OF_CHANNEL[c] for c in manager_channels if c in MANAGER_ROUTE_OF_CHANNEL]
        with self._session() as session, session.begin():
            ticket = self._ticket_for_update(session, reference)
            if ticket.status not in OPEN_STATUSES or ticket.personal_data_erased_at is not None:
                raise TicketClosed(reference)
            now = self._clock()
            manager_jobs = builtins.list(
                session.scalars(
                    select(MessageJob)
                    .join(ThreadMessage)
                    .where(ThreadMessage.ticket_id == ticket.id, MessageJob.route.in_(MANAGER_ROUTES))
                )
            )
            if any(job.status == "pending" for job in manager_jobs):
                routes = []  # the waiting notification will carry this one too
            message = self._add(session, ticket, "user_addition", "user", text, routes, now)
            last = max([ticket.created_at, *(job.created_at for job in manager_jobs)])
            due = max(now, last + ADDITION_NOTICE_INTERVAL)
            for job in message.jobs:
                job.next_attempt_at = due
            ticket.status = "new"
        return self._message(message.id)

    def _message(self, message_id: int) -> ThreadMessage:
        with self._session() as session:
            return session.scalars(
                select(ThreadMessage)
                .options(selectinload(ThreadMessage.jobs), selectinload(ThreadMessage.ticket))
                .where(ThreadMessage.id == message_id)
            ).one()

    def thread(self, reference: str) -> Ticket | None:
        """The ticket with its notifications and its thread, each message with its deliveries."""
        with self._session() as session:
            return session.scalars(
                select(Ticket)
                .options(selectinload(Ticket.jobs), selectinload(Ticket.messages).selectinload(ThreadMessage.jobs))
                .where(Ticket.reference == reference)
            ).one_or_none()

    def open_ticket_of_conversation(self, conversation_id: str) -> Ticket | None:
        """The newest open ticket a conversation made, if any."""
        with self._session() as session:
            return session.scalars(
                select(Ticket)
                .where(Ticket.conversation_id == conversation_id, Ticket.status.in_(OPEN_STATUSES))
                .order_by(Ticket.id.desc())
                .limit(1)
            ).one_or_none()

    def ticket_of_telegram_notice(self, message_id: int | str) -> Ticket | None:
        """The ticket whose notification (or addition notice) the manager's Telegram message replies to."""
        key = str(message_id)
        with self._session() as session:
            ticket_id = session.scalars(
                select(NotificationJob.ticket_id).where(
                    NotificationJob.kind == "telegram", NotificationJob.external_id == key
                )
            ).first()
            if ticket_id is None:
                ticket_id = session.scalars(
                    select(ThreadMessage.ticket_id)
                    .join(MessageJob)
                    .where(MessageJob.route == "manager_telegram", MessageJob.external_id == key)
                ).first()
            if ticket_id is None:
                return None
            return session.get(Ticket, ticket_id)

    # The outbox's side.

    def due_message_jobs(self, now: datetime, limit: int = 50) -> builtins.list[MessageJob]:
        query = (
            select(MessageJob)
            .options(selectinload(MessageJob.message).selectinload(ThreadMessage.ticket))
            .where(MessageJob.status == "pending", MessageJob.next_attempt_at <= now)
            .order_by(MessageJob.next_attempt_at, MessageJob.id)
            .limit(limit)
        )
        with self._session() as session:
            return builtins.list(session.scalars(query))

    def additions_since(self, message: ThreadMessage) -> builtins.list[ThreadMessage]:
        """The user's additions a notice about `message` reports: it and the ones after it."""
        with self._session() as session:
            return builtins.list(
                session.scalars(
                    select(ThreadMessage)
                    .where(
                        ThreadMessage.ticket_id == message.ticket_id,
                        ThreadMessage.kind == "user_addition",
                        ThreadMessage.id >= message.id,
                    )
                    .order_by(ThreadMessage.id)
                )
            )

    def _update_job(self, job_id: int, *conditions: Any, **values: Any) -> bool:
        statement = (
            update(MessageJob)
            .where(MessageJob.id == job_id, *conditions)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        with self._session() as session, session.begin():
            result = cast("CursorResult[Any]", session.execute(statement))
            return result.rowcount == 1

    def claim_message_job(self, job_id: int, now: datetime, lease_until: datetime) -> bool:
        """As HandoffStore.claim: of two deliverers, one moves next_attempt_at past now and the other finds
        nothing to take."""
        return self._update_job(
            job_id,
            MessageJob.status == "pending",
            MessageJob.next_attempt_at <= now,
            next_attempt_at=lease_until,
        )

    def mark_message_sent(self, job_id: int, external_id: str | None = None, now: datetime | None = None) -> None:
        self._update_job(
            job_id,
            MessageJob.status == "pending",
            status="sent",
            sent_at=now or self._clock(),
            attempts=MessageJob.attempts + 1,
            last_error=None,
            external_id=external_id,
        )

    def hold_message_job(self, job_id: int) -> None:
        """Nobody to push to now (no page of the session open): kept for the user's next visit."""
        self._update_job(
            job_id, MessageJob.status == "pending", status="held", attempts=MessageJob.attempts + 1, last_error=None
        )

    def mark_message_failed(self, job_id: int, error: str, next_attempt_at: datetime, give_up: bool) -> None:
        self._update_job(
            job_id,
            MessageJob.status == "pending",
            status="failed" if give_up else "pending",
            attempts=MessageJob.attempts + 1,
            next_attempt_at=next_attempt_at,
            last_error=redact(error),
        )

    def take_kept(self, conversation_id: str, route: str, now: datetime | None = None) -> builtins.list[dict[str, str]]:
        """The messages kept for a conversation on its route (held, or pending and not being delivered),
        each marked sent as it is taken, so that a message is handed over once; oldest first."""
        now = now or self._clock()
        takeable = or_(
            MessageJob.status == "held", (MessageJob.status == "pending") & (MessageJob.next_attempt_at <= now)
        )
        with self._session() as session:
            jobs = builtins.list(
                session.scalars(
                    select(MessageJob)
                    .options(selectinload(MessageJob.message).selectinload(ThreadMessage.ticket))
                    .join(ThreadMessage)
                    .join(Ticket)
                    .where(Ticket.conversation_id == conversation_id, MessageJob.route == route, takeable)
                    .order_by(MessageJob.id)
                )
            )
        taken = []
        for job in jobs:
            if self._update_job(
                job.id, takeable, status="sent", sent_at=now, attempts=MessageJob.attempts + 1, last_error=None
            ):
                ticket = job.message.ticket
                taken.append(
                    {
                        "text": user_text(ticket, job.message),
                        "reference": ticket.reference,
                        "kind": job.message.kind,
                        "language": ticket.language,
                    }
                )
        return taken


