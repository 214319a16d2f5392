"""The back office's own work besides answering pages: migrating the database, delivering pending
notifications (the outbox) and erasing personal data past its retention, until the server stops.

Pending jobs live in the database, so a restarted server simply finds them due and delivers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.handoff.config import HandoffSettings
from bot.handoff.database import safe_url
from bot.handoff.outbox import RetryPolicy, run_outbox
from bot.handoff.senders import build_senders
from bot.handoff.store import HandoffStore, upgrade
from bot.handoff.thread_senders import build_message_senders
from bot.privacy.records import PrivacyStoreUnavailable
from bot.privacy.retention import purge
from bot.web.keys import HANDOFF_SETTINGS, OUTBOX_WAKE, ROUTES, SETTINGS, STORE
from bot.web.route_status import RouteStatus, watch_routes

logger = logging.getLogger(__name__)


async def migrate(store: HandoffStore, database_url: str) -> bool:
    """Bring the schema to the newest migration; False (logged) when the database cannot be reached."""
    try:
        await asyncio.to_thread(upgrade, database_url)
    except Exception as exc:
        # The type only: a driver's message may quote the URL, and the URL may hold a password.
        logger.error("handoff database %s: migration failed (%s)", safe_url(store.engine), type(exc).__name__)
        return False
    return True


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def purge_daily(handoff: HandoffSettings, interval: float, stop: asyncio.Event) -> None:
    """Erase personal data older than the retention now, then once per interval: the tickets', the
    conversations in Rasa's tracker store and Review's question texts (bot.privacy.records)."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(purge, handoff)  # logs how much it erased
        except PrivacyStoreUnavailable as exc:
            logger.warning("retention purge postponed: %s", exc)
        except Exception as exc:
            logger.error("retention purge failed: %s", type(exc).__name__)
        await _wait(stop, interval)


async def run_background(
    store: HandoffStore,
    handoff: HandoffSettings,
    outbox_interval: float,
    purge_interval: float,
    stop: asyncio.Event,
    *,
    migrated: bool,
    wake: asyncio.Event | None = None,
    routes: RouteStatus | None = None,
) -> None:
    # Until the schema is there, the outbox and the purge would only fail; retry at the outbox's pace.
    while not migrated:
        await _wait(stop, outbox_interval)
        if stop.is_set():
            return
        migrated = await migrate(store, handoff.database_url)
    for kind, missing in handoff.incomplete_channels().items():
        logger.warning("%s notifications are off: %s not set", kind, ", ".join(missing))
    async with aiohttp.ClientSession() as session:
        senders = build_senders(handoff, session)
        message_senders = build_message_senders(handoff, session)
        logger.info("handoff outbox: delivering through %s", ", ".join(sorted(senders)) or "no channel")
        logger.info("handoff outbox: replies through %s", ", ".join(sorted(message_senders)) or "no route")
        await asyncio.gather(
            run_outbox(
                store,
                senders,
                outbox_interval,
                stop,
                policy=RetryPolicy.from_settings(handoff),
                message_senders=message_senders,
                wake=wake,
            ),
            purge_daily(handoff, purge_interval, stop),
            *([watch_routes(routes, handoff, stop)] if routes is not None else []),
        )


async def background_tasks(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup context: starts the work with the server and stops it with the server."""
    settings, handoff, store = app[SETTINGS], app[HANDOFF_SETTINGS], app[STORE]
    stop = asyncio.Event()
    # Migrated before the first request is served, so that pages never meet an old schema; a database
    # that is down does not stop the server, which reports it on /health and keeps trying.
    migrated = await migrate(store, handoff.database_url)
    task = asyncio.create_task(
        run_background(
            store,
            handoff,
            settings.outbox_interval_seconds,
            settings.purge_interval_seconds,
            stop,
            migrated=migrated,
            wake=app[OUTBOX_WAKE],
            routes=app[ROUTES],
        ),
        name="ris3-backoffice-background",
    )
    yield
    stop.set()
    try:
        # shield: on timeout the task is cancelled below, deliberately, rather than by wait_for.
        await asyncio.wait_for(asyncio.shield(task), settings.shutdown_grace_seconds)
    except asyncio.TimeoutError:
        logger.warning("back office: background work still busy after %s s, cancelled", settings.shutdown_grace_seconds)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    except Exception as exc:
        logger.error("back office: background work ended with %s", type(exc).__name__)
    finally:
        store.close()
