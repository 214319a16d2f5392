"""Engines for the handoff database, SQLite or PostgreSQL, set up alike for the store and migrations.

A SQLite database holds names, contacts and questions, so its file is private to the bot's user
(0600, in a 0700 folder when the bot creates the folder) before SQLite first opens it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5
# Concurrent deliverers write to the same rows; SQLite makes a writer wait this long for the lock.
SQLITE_BUSY_SECONDS = 30
PRIVATE_FILE_MODE = 0o600
PRIVATE_FOLDER_MODE = 0o700
GROUP_AND_OTHERS = 0o077
# The files SQLite keeps beside the database: rollback journal, write-ahead log and its shared memory.
# SQLite creates them with the database file's permissions, so they are private once the file is; ones
# left over from a time the file was not are tightened like it.
SQLITE_COMPANION_SUFFIXES = ("-journal", "-wal", "-shm")


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


def _make_private_folder(folder: Path) -> None:
    """Creates the folder and any missing parents 0700. A folder that exists is left as it is (it may be
    shared, such as /tmp); one that others may write to gets a warning, as they could replace the file."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=PRIVATE_FOLDER_MODE)
        except FileExistsError:  # another process made it meanwhile
            continue
        # mkdir's mode passes through the umask, which could only have removed bits: this is exact.
        os.chmod(created, PRIVATE_FOLDER_MODE)
    if missing:
        return
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & (stat.S_IWGRP | stat.S_IWOTH) and not mode & stat.S_ISVTX:
        logger.warning(
            "the handoff database's folder %s may be written by other users (mode %03o): "
            "they could replace the database; make it 0700",
            folder,
            mode,
        )


def _make_private_file(path: Path) -> None:
    """Takes group and others' permissions off a file the process owns; warns about one it does not own."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    mode = stat.S_IMODE(status.st_mode)
    if not mode & GROUP_AND_OTHERS:
        return
    if status.st_uid != os.geteuid():
        logger.warning(
            "handoff database file %s is open to other users (mode %03o) and owned by another user: "
            "ask its owner to make it %03o",
            path,
            mode,
            PRIVATE_FILE_MODE,
        )
        return
    try:
        os.chmod(path, mode & ~GROUP_AND_OTHERS)
    except OSError as exc:
        logger.warning(
            "handoff database file %s is open to other users (mode %03o) and could not be made private: %s",
            path,
            mode,
            exc,
        )
        return
    logger.warning(
        "handoff database file %s was open to other users (mode %03o); made it %03o",
        path,
        mode,
        mode & ~GROUP_AND_OTHERS,
    )


def prepare_sqlite_file(database: Path) -> None:
    """Creates the SQLite database file 0600 (and its folder 0700) before SQLite does it with the
    umask's permissions, usually 0644; tightens an existing file and the journals beside it."""
    _make_private_folder(database.parent)
    try:
        # An empty file is a valid, empty SQLite database; O_EXCL leaves an existing one untouched.
        descriptor = os.open(database, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE)
    except FileExistsError:
        pass
    else:
        os.close(descriptor)
    for path in (database, *(Path(f"{database}{suffix}") for suffix in SQLITE_COMPANION_SUFFIXES)):
        _make_private_file(path)


def _sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory database or a SQLite URI filename."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(database_url: str, *, locking_transactions: bool = False) -> Engine:
    """An engine for the store, or with locking_transactions=True, one whose transactions on SQLite
    hold the database's write lock from their start (for migrations, which must not interleave)."""
    url = make_url(database_url)
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        database_file = _sqlite_file(url)
        if database_file is not None:
            prepare_sqlite_file(database_file)
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
