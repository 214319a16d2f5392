"""Engines for the handoff database, SQLite or PostgreSQL, set up alike for the store and migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

CONNECT_TIMEOUT_SECONDS = 5
# Concurrent deliverers write to the same rows; SQLite makes a writer wait this long for the lock.
SQLITE_BUSY_SECONDS = 30


def _sqlite_on_connect(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless asked, per connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_autocommit_driver(dbapi_connection: Any, _record: object) -> None:
    # Leave transactions to SQLAlchemy's "begin" event below instead of the driver's implicit BEGIN.
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(connection: Connection) -> None:
    # Take SQLite's write lock at BEGIN: a second process migrating waits here, then finds nothing to do.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(database_url: str, *, locking_transactions: bool = False) -> Engine:
    """An engine for the store, or with locking_transactions=True, one whose transactions on SQLite
    hold the database's write lock from their start (for migrations, which must not interleave)."""
    url = make_url(database_url)
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args["timeout"] = SQLITE_BUSY_SECONDS
    elif url.get_backend_name() == "postgresql":
        # A database that is down should say so within seconds, not hang the conversation.
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        if locking_transactions:
            event.listen(engine, "connect", _sqlite_autocommit_driver)
            event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


def safe_url(engine: Engine) -> str:
    """The URL for messages and logs, without its password."""
    return engine.url.render_as_string(hide_password=True)
