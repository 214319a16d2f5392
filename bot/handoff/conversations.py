"""Erasing old conversations from Rasa's SQL tracker store.

A conversation holds everything the user typed, the handoff form's name and contact included, so it is
kept no longer than the tickets' personal data (RIS3_HANDOFF_RETENTION_DAYS): a conversation whose last
event is older than that is deleted whole. A user who comes back later starts a new one.

Rasa creates the table (`events`: one row per event, `sender_id`, `timestamp` in Unix seconds); this
module only deletes from it, with SQLAlchemy Core, so it works on the SQLite default and on PostgreSQL.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from sqlalchemy import Column, Float, MetaData, String, Table, create_engine, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

logger = logging.getLogger(__name__)

# Only the columns the purge reads; the table is Rasa's and is never created here.
_events = Table("events", MetaData(), Column("sender_id", String), Column("timestamp", Float))


class TrackerStoreUnavailable(RuntimeError):
    """The tracker store could not be read or written; the message names the setting, never the URL."""


def purge_conversations(database_url: str, older_than_days: int, now: float | None = None) -> int:
    """Deletes the conversations whose last event is older than older_than_days; returns how many.
    (The tracker's part of bot.privacy.records.PersonalData.purge, which the purge commands run.)"""
    from bot.privacy.records import delete_conversations

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        return 0  # no conversation yet (and no empty database file made by looking)
    cutoff = (time.time() if now is None else now) - older_than_days * 86400
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("events"):
            return 0
        stale = select(_events.c.sender_id).group_by(_events.c.sender_id).having(func.max(_events.c.timestamp) < cutoff)
        with engine.begin() as connection:
            senders = [row[0] for row in connection.execute(stale)]
            delete_conversations(connection, senders)  # the erasure's own code (bot.privacy.records)
    except SQLAlchemyError as exc:
        # The type only: a driver's message may quote the URL, and the URL may hold a password.
        raise TrackerStoreUnavailable(
            f"conversation purge failed ({type(exc).__name__}): check RIS3_TRACKER_DATABASE_URL"
        ) from None
    finally:
        engine.dispose()
    logger.info("conversation purge: %d conversations older than %d days erased", len(senders), older_than_days)
    return len(senders)
