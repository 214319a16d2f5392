"""The ticket store: tickets and their notification jobs in SQLite or PostgreSQL.

Synchronous on purpose (the action server calls it through asyncio.to_thread): one short transaction
per call, parameters only, never SQL built from text. Database outages surface as StoreUnavailable
so the caller can tell the user, in their language, to use the manager's contact directly.
"""

from __future__ import annotations

import builtins
import logging
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CursorResult, false, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from bot.handoff.database import make_engine, safe_url
from bot.handoff.draft import TicketDraft, check_draft
from bot.handoff.models import JOB_KINDS, TICKET_STATUSES, MessageJob, NotificationJob, Ticket, utcnow
from bot.handoff.redaction import redact
from bot.handoff.reference import new_reference
from bot.handoff.thread_store import ThreadStoreMixin, TicketClosed, TicketNotFound

__all__ = ["HandoffStore", "StoreReadOnly", "StoreUnavailable", "TicketClosed", "TicketNotFound", "upgrade"]

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# 32**4 ≈ one million references; ten collisions in a row would mean something else is wrong.
REFERENCE_ATTEMPTS = 10
# Any fixed number, the same in every process: the PostgreSQL advisory lock taken while migrating.
MIGRATION_LOCK_KEY = 0x52495333  # "RIS3"
_UPGRADE_LOCK = threading.Lock()
ERASED_BEFORE_DELIVERY = "personal data erased by the retention purge before delivery"
# PostgreSQL's answers to a write it will not do: 25006 a read-only transaction (a standby, or
# default_transaction_read_only), 42501 a role without the privilege.
REFUSED_WRITE_SQLSTATES = frozenset({"25006", "42501"})
SQLITE_READONLY = 8  # the primary result code; its extended codes keep it in their low byte


class StoreUnavailable(RuntimeError):
    """The handoff database cannot be reached or is not migrated."""


class StoreReadOnly(StoreUnavailable):
    """The handoff database answers but refuses to write (a read-only file, role or server)."""


class _ReferenceTaken(Exception):
    pass


def _alembic_config(**attributes: object) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes.update(attributes)
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def upgrade(database_url: str) -> None:
    """Bring the database's schema to the newest migration (creating it on an empty database).

    Safe to call from every process and thread at start-up: alembic keeps its state in module
    globals, so calls in one process take turns, and on PostgreSQL an advisory lock makes other
    processes wait until the first has migrated (they then find nothing to do); on SQLite the
    database's write lock does the same."""
    engine = make_engine(database_url, locking_transactions=True)
    try:
        with _UPGRADE_LOCK, engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            command.upgrade(_alembic_config(connection=connection), "head")
    finally:
        engine.dispose()


def downgrade(database_url: str, revision: str) -> None:
    """Back to an earlier migration, for a rollback to the release that expects it (docs/operations.md)."""
    engine = make_engine(database_url, locking_transactions=True)
    try:
        with _UPGRADE_LOCK, engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            command.downgrade(_alembic_config(connection=connection), revision)
    finally:
        engine.dispose()


def _write_refused(exc: DBAPIError) -> bool:
    original = exc.orig
    if getattr(original, "sqlstate", None) in REFUSED_WRITE_SQLSTATES:
        return True
    code = getattr(original, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == SQLITE_READONLY
    # Python 3.10's sqlite3 has no error codes: its message is all there is.
    return isinstance(exc, OperationalError) and "readonly database" in str(original)


def _check_kinds(channels: Sequence[str]) -> builtins.list[str]:
    unknown = [c for c in channels if c not in JOB_KINDS]
    if unknown:
        raise ValueError(f"unknown notification channels {unknown}; known: {list(JOB_KINDS)}")
    return list(dict.fromkeys(channels))  # each once, in the given order


class HandoffStore(ThreadStoreMixin):
    def __init__(
        self,
        database_url: str,
        *,
        reference_factory: Callable[[], str] = new_reference,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = make_engine(database_url)
        # Objects stay readable after commit: callers get finished tickets, not lazy proxies.
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._reference_factory = reference_factory
        self._clock = clock

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with self._sessions() as session:
                yield session
        except DBAPIError as exc:
            if _write_refused(exc):
                raise StoreReadOnly(
                    f"handoff database {safe_url(self.engine)} refuses to write ({type(exc.orig).__name__})"
                ) from exc
            if isinstance(exc, (OperationalError, InterfaceError)):
                raise StoreUnavailable(
                    f"handoff database {safe_url(self.engine)} unavailable ({type(exc.orig).__name__})"
                ) from exc
            raise

    def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers and its schema is current."""
        with self._session() as session:
            session.execute(text("SELECT 1"))
            current = MigrationContext.configure(session.connection()).get_current_revision()
        head = head_revision()
        if current != head:
            raise StoreUnavailable(
                f"handoff database {safe_url(self.engine)} is at migration {current}, not {head}: "
                "run `python -m bot.handoff upgrade` (or bot.handoff.store.upgrade())"
            )

    def check_writable(self) -> None:
        """Raise StoreReadOnly when the database refuses writes (StoreUnavailable when it is down),
        leaving nothing behind: every write is in one transaction, rolled back.

        An UPDATE matching no row on each table the back office writes checks the privileges on them and
        a read-only transaction or file; a row added to alembic_version (it has no sequence that would
        remember the try) makes SQLite really write a page, which its journal needs a writable folder for."""
        with self._session() as session:
            try:
                for table in (Ticket.__table__, NotificationJob.__table__, MessageJob.__table__):
                    session.execute(update(table).where(false()).values(status=table.c.status))
                session.execute(
                    text("INSERT INTO alembic_version (version_num) VALUES (:probe)"),
                    {"probe": f"write-probe-{secrets.token_hex(8)}"},
                )
            finally:
                session.rollback()

    def create_ticket(self, draft: TicketDraft, channels: Sequence[str]) -> Ticket:
        """Store the ticket and one pending job per channel, all or nothing.

        Raises ConsentMissing, InvalidInput (with a message key) or ValueError for a bad draft,
        StoreUnavailable when the database is down."""
        checked = check_draft(draft)
        kinds = _check_kinds(channels)
        for _ in range(REFERENCE_ATTEMPTS):
            now = self._clock()
            ticket = Ticket(
                reference=self._reference_factory(),
                name=checked.name,
                contact=checked.contact,
                contact_kind=checked.contact_kind,
                question=checked.question,
                transcript=checked.transcript_json,
                channel=checked.channel,
                language=checked.language,
                conversation_id=checked.conversation_id,
                status="new",
                created_at=now,
                updated_at=now,
            )
            try:
                with self._session() as session, session.begin():
                    session.add(ticket)
                    try:
                        session.flush()
                    except IntegrityError as exc:
                        # Only a taken reference is worth another try; anything else is a real error.
                        if "reference" not in str(exc.orig):
                            raise
                        raise _ReferenceTaken from exc
                    ticket.jobs.extend(
                        NotificationJob(kind=kind, status="pending", attempts=0, next_attempt_at=now, created_at=now)
                        for kind in kinds
                    )
            except _ReferenceTaken:
                logger.info("handoff reference %s already taken, drawing another", ticket.reference)
                continue
            logger.info("handoff %s: ticket stored with jobs %s", ticket.reference, [j.id for j in ticket.jobs])
            return ticket
        raise RuntimeError(f"no free ticket reference after {REFERENCE_ATTEMPTS} attempts")

    def get(self, reference: str) -> Ticket | None:
        with self._session() as session:
            return session.scalars(
                select(Ticket).options(selectinload(Ticket.jobs)).where(Ticket.reference == reference)
            ).one_or_none()

    def list(self, status: str | None = None) -> builtins.list[Ticket]:
        query = select(Ticket).options(selectinload(Ticket.jobs)).order_by(Ticket.id)
        if status is not None:
            query = query.where(Ticket.status == status)
        with self._session() as session:
            return builtins.list(session.scalars(query))

    def set_status(self, reference: str, status: str, changed_by: str | None = None) -> Ticket:
        """changed_by: the staff account's user name, kept with the ticket."""
        if status not in TICKET_STATUSES:
            raise ValueError(f"ticket status must be one of {TICKET_STATUSES}, not {status!r}")
        with self._session() as session, session.begin():
            ticket = session.scalars(
                select(Ticket).options(selectinload(Ticket.jobs)).where(Ticket.reference == reference)
            ).one_or_none()
            if ticket is None:
                raise TicketNotFound(reference)
            ticket.status = status
            ticket.status_changed_by = changed_by[:100] if changed_by else None
            ticket.updated_at = self._clock()
        return ticket

    def due_jobs(self, now: datetime, limit: int = 50) -> builtins.list[NotificationJob]:
        """Pending jobs whose time has come, oldest first, each with its ticket loaded."""
        query = (
            select(NotificationJob)
            .options(selectinload(NotificationJob.ticket))
            .where(NotificationJob.status == "pending", NotificationJob.next_attempt_at <= now)
            .order_by(NotificationJob.next_attempt_at, NotificationJob.id)
            .limit(limit)
        )
        with self._session() as session:
            return builtins.list(session.scalars(query))

    def claim(self, job_id: int, now: datetime, lease_until: datetime) -> bool:
        """Take a due job for one deliverer until lease_until; False when another deliverer has it.

        The condition and the update are one statement, so of two deliverers that read the same due
        job only one matches: the other finds next_attempt_at already moved past `now`. A deliverer
        that dies mid-send leaves the job pending, and it is due again when the lease runs out."""
        statement = (
            update(NotificationJob)
            .where(
                NotificationJob.id == job_id,
                NotificationJob.status == "pending",
                NotificationJob.next_attempt_at <= now,
            )
            .values(next_attempt_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        with self._session() as session, session.begin():
            result = cast("CursorResult[Any]", session.execute(statement))
            return result.rowcount == 1

    def mark_sent(self, job_id: int, now: datetime | None = None, external_id: str | None = None) -> None:
        with self._session() as session, session.begin():
            session.execute(
                update(NotificationJob)
                .where(NotificationJob.id == job_id, NotificationJob.status == "pending")
                .values(
                    status="sent",
                    sent_at=now or self._clock(),
                    attempts=NotificationJob.attempts + 1,
                    last_error=None,
                    external_id=external_id,
                )
                .execution_options(synchronize_session=False)
            )

    def mark_failed(self, job_id: int, error: str, next_attempt_at: datetime, give_up: bool) -> None:
        """Record a failed attempt: due again at next_attempt_at, or failed for good when give_up."""
        with self._session() as session, session.begin():
            session.execute(
                update(NotificationJob)
                .where(NotificationJob.id == job_id, NotificationJob.status == "pending")
                .values(
                    status="failed" if give_up else "pending",
                    attempts=NotificationJob.attempts + 1,
                    next_attempt_at=next_attempt_at,
                    last_error=redact(error),
                )
                .execution_options(synchronize_session=False)
            )

    def purge(self, older_than_days: int, now: datetime | None = None) -> int:
        """Erase name, contact, question and transcript of tickets created more than older_than_days
        ago; reference, status and times stay for statistics. Returns how many tickets were erased.
        The tickets' part of the retention purge, through the erasure's own code (bot.privacy.records)."""
        from bot.privacy.records import erase_tickets

        now = now or self._clock()
        old = (Ticket.created_at < now - timedelta(days=older_than_days)) & Ticket.personal_data_erased_at.is_(None)
        try:
            with self.engine.begin() as connection:
                ids = [row[0] for row in connection.execute(select(Ticket.id).where(old))]
                erased = erase_tickets(connection, ids, now, None).tickets
        except SQLAlchemyError as exc:
            raise StoreUnavailable(
                f"handoff database {safe_url(self.engine)} unavailable ({type(exc).__name__})"
            ) from None
        logger.info("handoff purge: personal data of %d tickets older than %d days erased", erased, older_than_days)
        return erased
