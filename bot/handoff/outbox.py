"""Delivering pending notification jobs, with retries, from the action server or the back office.

A job is marked sent only after its sender succeeded, and is taken only while pending and due, so a
channel that is down delays delivery and loses nothing, and a restarted process carries on where the
last one stopped. Before sending, a deliverer claims the job (HandoffStore.claim), so two deliverers
running at once never send the same job twice. A process that dies between sending and recording
leaves the job to be sent again after its lease: delivery is at least once, never silently zero.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.handoff.config import HandoffSettings
from bot.handoff.models import NotificationJob, utcnow
from bot.handoff.redaction import redact
from bot.handoff.senders import DeliveryError, Sender
from bot.handoff.store import HandoffStore, StoreUnavailable

if TYPE_CHECKING:
    from bot.handoff.thread_outbox import MessageSender

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff_base_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0
    # Longer than any sender can take (their timeouts are 30 s), so a claim never runs out mid-send.
    lease_seconds: float = 300.0

    @classmethod
    def from_settings(cls, settings: HandoffSettings) -> RetryPolicy:
        return cls(settings.max_attempts, settings.backoff_base_seconds, settings.backoff_max_seconds)

    def delay(self, attempts_before: int) -> timedelta:
        """30 s, 1 min, 2 min, … after the 1st, 2nd, 3rd failure, never more than the cap."""
        seconds = min(self.backoff_base_seconds * 2 ** min(attempts_before, 32), self.backoff_max_seconds)
        return timedelta(seconds=seconds)


@dataclass
class DeliveryReport:
    """Job ids by what happened to them in one round."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # gave up after max_attempts
    taken: list[int] = field(default_factory=list)  # claimed by another deliverer first
    no_sender: list[int] = field(default_factory=list)  # channel not configured here: left pending

    def __str__(self) -> str:
        return (
            f"{len(self.sent)} sent, {len(self.retrying)} to retry, {len(self.failed)} failed, "
            f"{len(self.taken)} taken by another deliverer, {len(self.no_sender)} without a sender"
        )


def _describe(exc: Exception, job: NotificationJob) -> str:
    if isinstance(exc, DeliveryError):
        message = str(exc)
    else:
        # A bug in a sender: its message could hold anything, so only its type is kept.
        message = f"unexpected {type(exc).__name__} in the {job.kind} sender"
    ticket = job.ticket
    return redact(message, known=(ticket.name, ticket.contact))


async def _deliver(
    store: HandoffStore,
    sender: Sender,
    job: NotificationJob,
    now: datetime,
    policy: RetryPolicy,
    report: DeliveryReport,
) -> None:
    reference = job.ticket.reference
    try:
        external_id = await sender.send(job.ticket)
    except Exception as exc:
        error = _describe(exc, job)
        give_up = job.attempts + 1 >= policy.max_attempts
        delay = policy.delay(job.attempts)
        retry_after = exc.retry_after if isinstance(exc, DeliveryError) else None
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        await asyncio.to_thread(store.mark_failed, job.id, error, now + delay, give_up)
        if give_up:
            logger.error(
                "handoff %s: job %d (%s) failed for good after %d attempts: %s",
                reference,
                job.id,
                job.kind,
                job.attempts + 1,
                error,
            )
            report.failed.append(job.id)
        else:
            logger.warning(
                "handoff %s: job %d (%s) attempt %d failed, next in %s: %s",
                reference,
                job.id,
                job.kind,
                job.attempts + 1,
                delay,
                error,
            )
            report.retrying.append(job.id)
        return
    await asyncio.to_thread(store.mark_sent, job.id, external_id=external_id)
    logger.info("handoff %s: job %d (%s) sent", reference, job.id, job.kind)
    report.sent.append(job.id)


async def deliver_due(
    store: HandoffStore,
    senders: Mapping[str, Sender],
    now: datetime | None = None,
    *,
    policy: RetryPolicy | None = None,
    limit: int = 100,
) -> DeliveryReport:
    """Send every job that is due at `now` (default: the current time) once; returns what happened."""
    policy = policy or RetryPolicy()
    now = now or utcnow()
    report = DeliveryReport()
    for job in await asyncio.to_thread(store.due_jobs, now, limit):
        sender = senders.get(job.kind)
        if sender is None:
            report.no_sender.append(job.id)
            continue
        lease_until = now + timedelta(seconds=policy.lease_seconds)
        if not await asyncio.to_thread(store.claim, job.id, now, lease_until):
            report.taken.append(job.id)
            continue
        await _deliver(store, sender, job, now, policy, report)
    if report.no_sender:
        logger.warning("handoff: jobs %s wait for a channel that is not configured here", report.no_sender)
    return report


async def run_outbox(
    store: HandoffStore,
    senders: Mapping[str, Sender],
    interval: float,
    stop_event: asyncio.Event,
    *,
    policy: RetryPolicy | None = None,
    message_senders: Mapping[str, MessageSender] | None = None,
    wake: asyncio.Event | None = None,
) -> None:
    """Deliver due jobs (the notifications, and the thread's messages when message_senders are given)
    every `interval` seconds, or at once when `wake` is set, until stop_event is set; outages only delay it."""
    while not stop_event.is_set():
        if wake is not None:
            wake.clear()
        try:
            report = await deliver_due(store, senders, policy=policy)
            if report.sent or report.retrying or report.failed:
                logger.info("handoff outbox: %s", report)
            if message_senders is not None:
                from bot.handoff.thread_outbox import deliver_due_messages  # it builds on this module

                messages = await deliver_due_messages(store, message_senders, policy=policy)
                if messages.sent or messages.retrying or messages.failed or messages.held:
                    logger.info("handoff outbox, thread messages: %s", messages)
        except StoreUnavailable as exc:
            logger.warning("handoff outbox: %s; trying again in %s s", exc, interval)
        except Exception as exc:
            # The loop must outlive any one bad round; the type alone, as the message could hold personal data.
            logger.error("handoff outbox round failed: %s", type(exc).__name__)
        await _sleep(stop_event, wake, interval)


async def _sleep(stop_event: asyncio.Event, wake: asyncio.Event | None, interval: float) -> None:
    waits = [asyncio.ensure_future(stop_event.wait())]
    if wake is not None:
        waits.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waits, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
