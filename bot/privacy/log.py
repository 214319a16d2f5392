"""The record of privacy actions: who erased or exported what and when, and how much, never the data itself.

A row says the action ("erase", "export", "purge"), who asked ("user", "staff", "retention"), who did it (the
staff member's user name, or the channel the user wrote on), how the person was found (the kind of key: "ticket
reference", "e-mail", never its value) and the counts of what was erased. It lives in the handoff database
(table privacy_actions, under the migrations: revision 0004, on SQLite or PostgreSQL) and outlives every purge:
it holds no personal data. Insights counts the users' own erasures from it.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, Connection, Engine, Integer, MetaData, String, Table, Text, insert, select

from bot.handoff.models import UTCDateTime
from bot.handoff.store import upgrade

ERASE, EXPORT, PURGE = "erase", "export", "purge"
BY_USER, BY_STAFF, BY_RETENTION = "user", "staff", "retention"

_metadata = MetaData()
privacy_actions = Table(
    "privacy_actions",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("action", String(16), nullable=False),
    Column("requested_by", String(16), nullable=False),
    # A staff member's user name, or the channel a user erased from ("web", "telegram", "rest").
    Column("actor", String(200), nullable=False),
    # The kind of key the person was found by ("ticket reference", "e-mail", …), never the key itself.
    Column("found_by", String(40), nullable=False, default=""),
    Column("counts", Text, nullable=False, default="{}"),
)
_ready: set[str] = set()
_lock = threading.Lock()


def ensure_schema(engine: Engine) -> None:
    """The table exists: the handoff database migrated to the newest revision (0004 creates it), once a process."""
    key = engine.url.render_as_string(hide_password=True)
    with _lock:
        if key in _ready:
            return
        upgrade(engine.url.render_as_string(hide_password=False))
        _ready.add(key)


def record(
    connection: Connection,
    action: str,
    requested_by: str,
    actor: str,
    counts: dict[str, int],
    found_by: str = "",
    at: datetime | None = None,
) -> None:
    connection.execute(
        insert(privacy_actions).values(
            at=at or datetime.now(timezone.utc),
            action=action,
            requested_by=requested_by,
            actor=actor[:200],
            found_by=found_by[:40],
            counts=json.dumps(counts, sort_keys=True),
        )
    )


@dataclass(frozen=True)
class ActionRecord:
    at: datetime
    action: str
    requested_by: str
    actor: str
    found_by: str
    counts: dict[str, Any]


def recent(engine: Engine, limit: int = 50) -> list[ActionRecord]:
    ensure_schema(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            select(privacy_actions).order_by(privacy_actions.c.at.desc(), privacy_actions.c.id.desc()).limit(limit)
        ).all()
    return [
        ActionRecord(row.at, row.action, row.requested_by, row.actor, row.found_by, json.loads(row.counts))
        for row in rows
    ]


def user_erasures(engine: Engine, since: datetime, until: datetime) -> Counter[str]:
    """The conversations users erased themselves in [since, until), by channel (for Insights)."""
    ensure_schema(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            select(privacy_actions.c.actor).where(
                privacy_actions.c.action == ERASE,
                privacy_actions.c.requested_by == BY_USER,
                privacy_actions.c.at >= since,
                privacy_actions.c.at < until,
            )
        ).all()
    return Counter(row.actor for row in rows)
