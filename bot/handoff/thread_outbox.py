"""Delivering the thread's messages (the manager's replies, the closing notice, the user's additions) per
route, with the notifications' rules: claimed before sending, marked sent only after the sender succeeded,
retried with backoff, given up after the policy's attempts. A website push that finds no page of the
session open keeps the message as held: the channel takes it at the session's next visit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from bot.handoff.models import MANAGER_ROUTES, MessageJob, ThreadMessage, Ticket, utcnow
from bot.handoff.outbox import RetryPolicy
from bot.handoff.redaction import redact
from bot.handoff.senders import DeliveryError
from bot.handoff.store import HandoffStore

logger = logging.getLogger(__name__)


class Held(Exception):
    """Nobody to deliver to now (no page of the website session open): keep it for the user's next visit."""


class MessageSender(Protocol):
    route: str

    async def send(self, ticket: Ticket, message: ThreadMessage, additions: Sequence[ThreadMessage]) -> str | None:
        """Deliver the message (for a manager route: the additions it reports); return the receiver's id of
        it, raise DeliveryError (retried) or Held."""
        ...


@dataclass
class MessageReport:
    sent: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    taken: list[int] = field(default_factory=list)
    no_sender: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{len(self.sent)} sent, {len(self.held)} kept for the user's next visit, {len(self.retrying)} to "
            f"retry, {len(self.failed)} failed, {len(self.taken)} taken by another deliverer, "
            f"{len(self.no_sender)} without a sender"
        )


async def _deliver(
    store: HandoffStore,
    sender: MessageSender,
    job: MessageJob,
    now: datetime,
    policy: RetryPolicy,
    report: MessageReport,
) -> None:
    message = job.message
    ticket = message.ticket
    additions: Sequence[ThreadMessage] = ()
    if job.route in MANAGER_ROUTES:
        additions = await asyncio.to_thread(store.additions_since, message)
    try:
        external_id = await sender.send(ticket, message, additions)
    except Held:
        await asyncio.to_thread(store.hold_message_job, job.id)
        report.held.append(job.id)
        return
    except Exception as exc:
        # A bug in a sender: its message could hold anything, so only its type is kept.
        text = str(exc) if isinstance(exc, DeliveryError) else f"unexpected {type(exc).__name__} in {job.route}"
        error = redact(text, known=(ticket.name, ticket.contact))
        give_up = job.attempts + 1 >= policy.max_attempts
        delay = policy.delay(job.attempts)
        retry_after = exc.retry_after if isinstance(exc, DeliveryError) else None
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        await asyncio.to_thread(store.mark_message_failed, job.id, error, now + delay, give_up)
        log = logger.error if give_up else logger.warning
        log("handoff %s: message job %d (%s) attempt %d failed: %s", ticket.reference, job.id, job.route,
            job.attempts + 1, error)
        (report.failed if give_up else report.retrying).append(job.id)
        return
    await asyncio.to_thread(store.mark_message_sent, job.id, external_id)
    logger.info("handoff %s: message job %d (%s) sent", ticket.reference, job.id, job.route)
    report.sent.append(job.id)


async def deliver_due_messages(
    store: HandoffStore,
    senders: Mapping[str, MessageSender],
    now: datetime | None = None,
    *,
    policy: RetryPolicy | None = None,
    limit: int = 100,
) -> MessageReport:
    policy = policy or RetryPolicy()
    now = now or utcnow()
    report = MessageReport()
    jobs = await asyncio.to_thread(store.due_message_jobs, now, limit)
    # Claimed one by one, then sent at once: a slow SMTP server does not hold up a Telegram reply.
    deliveries = []
    for job in jobs:
        sender = senders.get(job.route)
        if sender is None:
            report.no_sender.append(job.id)
            continue
        lease_until = now + timedelta(seconds=policy.lease_seconds)
        if not await asyncio.to_thread(store.claim_message_job, job.id, now, lease_until):
            report.taken.append(job.id)
            continue
        deliveries.append(_deliver(store, sender, job, now, policy, report))
    await asyncio.gather(*deliveries)
    if report.no_sender:
        logger.warning("handoff: message jobs %s wait for a route that is not configured here", report.no_sender)
    return report
