"""Rasa's SQL tracker store, the same table and rows, at a third of the cost per message.

    tracker_store:
      type: bot.tracker_store.LeanSQLTrackerStore
      dialect: "sqlite"            # or postgresql, with Rasa's url/port/db/username/password
      db: "var/tracker.db"

Profiled under load (docs/profile.md), Rasa's `SQLTrackerStore` took 46 % of the Rasa server's time, almost
none of it in the database: every message built ORM queries (the session's events, then again to count
them before saving, each wrapped in a subquery), ran the ORM's unit of work to insert a few rows, and on
SQLite opened a new connection each time (SQLAlchemy 1.4 pools no SQLite file connections). This store reads
and writes the same `events` table with the same rows (Rasa's columns, Rasa's JSON; Rasa's own store, the
back office's insights and the retention purge read them unchanged) through SQLAlchemy Core statements
built once, on pooled connections. The semantics are Rasa's: the tracker is the events since the latest
`session_started`, and a save appends the tracker's events beyond those already stored for that session.
Rasa's lock store keeps two messages of one conversation from interleaving, as for Rasa's store.

A turn that erased the conversation at the user's request (actions/privacy.py sets the `conversation_erased`
slot) is not appended: the save deletes every event of the conversation instead, inside the same lock, so no
save that follows can write the erased turns back (docs/privacy.md). The next message starts a new one.

SQLite (the embedded default) runs in write-ahead-log mode with `synchronous=NORMAL`: with the default
rollback journal each commit waited for the disk twice (1.8 ms, the Rasa server's event loop blocked), in
WAL mode a commit appends to the log (0.03 ms) and the disk is synchronised at checkpoints. A crashed
process loses nothing committed; a power cut may lose the last turns, never the file's consistency.
Runs in the Rasa runtime (Python 3.10).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import event
from sqlalchemy.pool import QueuePool


def _write_ahead_log(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # kept in the file; asking again is cheap
        cursor.execute("PRAGMA synchronous=NORMAL")  # per connection
        cursor.execute("PRAGMA busy_timeout=10000")  # another process (a Sanic worker, the purge) is writing
    finally:
        cursor.close()


def _is_sqlite_file(url: sa.engine.URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")


class LeanSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if _is_sqlite_file(self.engine.url):
            url = self.engine.url
            self.engine.dispose()
            # A pool of connections that any thread may use (one at a time), as for every other database.
            self.engine = sa.create_engine(
                url, poolclass=QueuePool, pool_size=4, max_overflow=8, connect_args={"check_same_thread": False}
            )
            event.listen(self.engine, "connect", _write_ahead_log)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        with self.session_scope():
            pass  # Rasa's check that a configured PostgreSQL schema exists, once rather than per query
        self._statements = _Statements(self.SQLEvent.__table__)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        with self.engine.connect() as connection:
            rows = connection.execute(self._statements.session_events, {"sender_id": sender_id}).all()
        if not rows or not self.domain:
            return None
        return DialogueStateTracker.from_dict(sender_id, [json.loads(data) for (data,) in rows], self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        with self.engine.begin() as connection:
            stored = connection.execute(self._statements.count_session_events, {"sender_id": tracker.sender_id})
            new_events = list(itertools.islice(tracker.events, stored.scalar_one(), None))
            if _erases_conversation(new_events):
                connection.execute(self._statements.delete_conversation, {"sender_id": tracker.sender_id})
                return
            rows = _rows(tracker.sender_id, new_events)
            if rows:
                connection.execute(self._statements.insert, rows)


class _Statements:
    """The store's statements, built once (SQLAlchemy caches their compiled form)."""

    def __init__(self, events: sa.Table) -> None:
        sender = sa.bindparam("sender_id")
        session_start = (
            sa.select(sa.func.max(events.c.timestamp))
            .where(events.c.sender_id == sender, events.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        # Rasa's filter: the events from the latest session start on, or all if there is none.
        in_session = sa.and_(
            events.c.sender_id == sender, sa.or_(events.c.timestamp >= session_start, session_start.is_(None))
        )
        self.session_events = sa.select(events.c.data).where(in_session).order_by(events.c.id)
        self.count_session_events = sa.select(sa.func.count()).select_from(events).where(in_session)
        self.insert = events.insert()
        self.delete_conversation = events.delete().where(events.c.sender_id == sender)


ERASED_SLOT = "conversation_erased"  # set by actions/privacy.py when the user's erasure succeeded


def _erases_conversation(new_events: Iterable[Event]) -> bool:
    return any(isinstance(e, SlotSet) and e.key == ERASED_SLOT and e.value is True for e in new_events)


def _rows(sender_id: str, new_events: Iterable[Event]) -> list[dict[str, Any]]:
    """The rows Rasa's store writes for these events."""
    rows = []
    for new_event in new_events:
        data = new_event.as_dict()
        rows.append(
            {
                "sender_id": sender_id,
                "type_name": new_event.type_name,
                "timestamp": data.get("timestamp"),
                "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                "action_name": data.get("name"),
                "data": json.dumps(data),
            }
        )
    return rows
