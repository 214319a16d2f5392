"""Staff accounts in the handoff database (table staff_accounts, revision 0005): user name, argon2 password hash,
roles, disabled flag, and who created and last changed each account, when.

Synchronous like the ticket store (callers in the event loop go through asyncio.to_thread); one short
transaction per call. Every change names the account that made it. The rule that keeps the back office
administrable lives here, so that the page and the command both obey it: once an enabled administrator
exists, no change may leave none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    false,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from bot.handoff.database import make_engine, safe_url
from bot.handoff.models import UTCDateTime, utcnow
from bot.handoff.store import StoreUnavailable

MANAGER, EDITOR, ADMIN = "manager", "editor", "admin"
ROLES = (MANAGER, EDITOR, ADMIN)
ROLE_LABELS = {MANAGER: "Project manager (tickets)", EDITOR: "Editor (knowledge, review)", ADMIN: "Administrator"}
# Lower-case letters, digits and . _ - @ : a name that reads the same in a log line, a URL path and a form.
USER_NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

_metadata = MetaData()
staff_accounts = Table(
    "staff_accounts",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_name", String(64), nullable=False),
    Column("password_hash", String(255), nullable=False),
    # The roles in ROLES order, separated by spaces ("manager editor").
    Column("roles", String(64), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("changed_by", String(100), nullable=False),
    UniqueConstraint("user_name", name="uq_staff_accounts_user_name"),
)


class AccountError(ValueError):
    """A change refused, with a reason a person can act on."""


class AccountNotFound(AccountError):
    pass


class LastAdmin(AccountError):
    pass


@dataclass(frozen=True)
class AccountRecord:
    id: int
    user: str
    password_hash: str
    roles: frozenset[str]
    disabled: bool
    created_at: datetime
    created_by: str
    changed_at: datetime
    changed_by: str

    @property
    def role_list(self) -> list[str]:
        return [role for role in ROLES if role in self.roles]


def check_user_name(user: object) -> str:
    if not isinstance(user, str) or not USER_NAME.match(user):
        raise AccountError(
            "A user name is 2–64 characters: lower-case letters, digits and . _ - @, starting with a letter or digit."
        )
    return user


def check_roles(roles: Iterable[object]) -> frozenset[str]:
    chosen = set(roles)
    unknown = sorted(str(role) for role in chosen if role not in ROLES)
    if unknown:
        raise AccountError(f"Unknown role {', '.join(unknown)}; the roles are {', '.join(ROLES)}.")
    if not chosen:
        raise AccountError(f"Give the account at least one role ({', '.join(ROLES)}).")
    return frozenset(str(role) for role in chosen)


def _stored_roles(roles: frozenset[str]) -> str:
    return " ".join(role for role in ROLES if role in roles)


def _record(row: object) -> AccountRecord:
    values = row._mapping  # type: ignore[attr-defined]
    return AccountRecord(
        id=values["id"],
        user=values["user_name"],
        password_hash=values["password_hash"],
        roles=frozenset(r for r in values["roles"].split() if r in ROLES),
        disabled=bool(values["disabled"]),
        created_at=values["created_at"],
        created_by=values["created_by"],
        changed_at=values["changed_at"],
        changed_by=values["changed_by"],
    )


class AccountStore:
    """On an engine of the handoff database: the back office shares its ticket store's, the command makes one."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self._clock = clock

    @classmethod
    def open(cls, database_url: str) -> AccountStore:
        return cls(make_engine(database_url))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _connection(self, write: bool = False) -> Iterator[Connection]:
        try:
            with self.engine.begin() if write else self.engine.connect() as connection:
                yield connection
        except (OperationalError, InterfaceError) as exc:
            raise StoreUnavailable(
                f"account database {safe_url(self.engine)} unavailable ({type(exc.orig).__name__})"
            ) from exc
        except DBAPIError as exc:
            if isinstance(exc, IntegrityError):
                raise
            reason = type(exc.orig).__name__
            raise StoreUnavailable(f"account database {safe_url(self.engine)} refused ({reason})") from exc

    def get(self, user: str) -> AccountRecord | None:
        with self._connection() as connection:
            row = connection.execute(select(staff_accounts).where(staff_accounts.c.user_name == user)).one_or_none()
        return None if row is None else _record(row)

    def list(self) -> list[AccountRecord]:
        with self._connection() as connection:
            rows = connection.execute(select(staff_accounts).order_by(staff_accounts.c.user_name)).all()
        return [_record(row) for row in rows]

    def admin_exists(self) -> bool:
        """Whether an enabled account has the admin role (the settings' account is then no longer one)."""
        with self._connection() as connection:
            return _enabled_admins(connection) > 0

    def lookup(self, user: str) -> tuple[AccountRecord | None, bool]:
        """The account named `user` and whether an enabled admin exists, in one connection: what each request
        of a signed-in account needs."""
        with self._connection() as connection:
            row = connection.execute(select(staff_accounts).where(staff_accounts.c.user_name == user)).one_or_none()
            admins = _enabled_admins(connection)
        return (None if row is None else _record(row)), admins > 0

    def add(self, user: str, password_hash: str, roles: Iterable[object], by: str) -> AccountRecord:
        user, chosen = check_user_name(user), check_roles(roles)
        now = self._clock()
        values = {
            "user_name": user, "password_hash": password_hash, "roles": _stored_roles(chosen), "disabled": False,
            "created_at": now, "created_by": by[:100], "changed_at": now, "changed_by": by[:100],
        }
        try:
            with self._connection(write=True) as connection:
                if connection.execute(select(staff_accounts.c.id).where(staff_accounts.c.user_name == user)).first():
                    raise AccountError(f"An account named {user} exists already.")
                connection.execute(insert(staff_accounts).values(**values))
        except IntegrityError as exc:  # added by someone else meanwhile
            raise AccountError(f"An account named {user} exists already.") from exc
        record = self.get(user)
        assert record is not None
        return record

    def _change(self, user: str, by: str, **values: object) -> AccountRecord:
        with self._connection(write=True) as connection:
            row = connection.execute(
                select(staff_accounts).where(staff_accounts.c.user_name == user).with_for_update()
            ).one_or_none()
            if row is None:
                raise AccountNotFound(f"No account named {user}.")
            before = _record(row)
            connection.execute(
                update(staff_accounts)
                .where(staff_accounts.c.id == before.id)
                .values(changed_at=self._clock(), changed_by=by[:100], **values)
            )
            # Checked after the change in the same transaction: a refusal rolls it back.
            if _enabled_admins(connection) == 0 and before.roles >= {ADMIN} and not before.disabled:
                raise LastAdmin(
                    f"{user} is the last enabled administrator; make another account an administrator first."
                )
        record = self.get(user)
        assert record is not None
        return record

    def set_roles(self, user: str, roles: Iterable[object], by: str) -> AccountRecord:
        return self._change(user, by, roles=_stored_roles(check_roles(roles)))

    def set_disabled(self, user: str, disabled: bool, by: str) -> AccountRecord:
        return self._change(user, by, disabled=disabled)

    def set_password(self, user: str, password_hash: str, by: str) -> AccountRecord:
        return self._change(user, by, password_hash=password_hash)


def _enabled_admins(connection: Connection) -> int:
    rows = connection.execute(
        select(staff_accounts.c.roles).where(staff_accounts.c.disabled == false())
    ).all()
    return sum(1 for (roles,) in rows if ADMIN in roles.split())
