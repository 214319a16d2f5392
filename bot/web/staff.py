"""Who a staff member is and what roles they hold: the accounts in the database, and the one account in the
settings (RIS3_WEB_MANAGER_USER with its hash), which keeps working as it did before accounts existed.

The settings' account is built in: while no enabled administrator exists in the table it holds every role
(a deployment that has not made accounts works as before, and its manager can make the first ones); once one
exists it is the project manager's account, tickets only. A table account of the same name replaces it.

Both functions here block (a database read, and at sign-in an argon2 verification): call them on a thread.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.handoff.store import StoreUnavailable
from bot.web.account_store import MANAGER, ROLES, AccountRecord, AccountStore
from bot.web.passwords import ManagerAccount, verify


@dataclass(frozen=True)
class StaffAccount:
    user: str
    roles: frozenset[str]
    # Sessions carry it and must match it: a new password (or a new account of the same name) ends older sessions.
    tag: str
    builtin: bool = False


def tag_of(record: AccountRecord) -> str:
    return hashlib.sha256(f"table\0{record.id}\0{record.user}\0{record.password_hash}".encode()).hexdigest()[:16]


def _from_record(record: AccountRecord) -> StaffAccount:
    return StaffAccount(record.user, record.roles, tag_of(record))


def _builtin(account: ManagerAccount, admin_exists: bool | None) -> StaffAccount:
    # None: the table could not be read. The account then keeps its own role only, never more than it may have.
    roles = frozenset(ROLES) if admin_exists is False else frozenset({MANAGER})
    return StaffAccount(account.user, roles, account.tag, builtin=True)


@dataclass(frozen=True)
class SignIn:
    account: StaffAccount | None
    # Whether the name is an account's, for the log only: a password typed into the name field stays out of it.
    known_name: bool


def check_sign_in(store: AccountStore, builtin: ManagerAccount, user: str, password: str) -> SignIn:
    """The account these credentials sign in (None: refused). Exactly one argon2 verification whatever the
    outcome, so the time an answer takes does not tell whether the name exists or is disabled.
    Raises StoreUnavailable when the table cannot be read and the name is not the built-in account's."""
    try:
        record, admin_exists = store.lookup(user)
    except StoreUnavailable:
        if not (builtin.configured and user == builtin.user):
            raise
        record, admin_exists = None, None
    if record is not None:
        password_ok = verify(record.password_hash, password)
        return SignIn(_from_record(record) if password_ok and not record.disabled else None, True)
    if builtin.check(user, password):
        return SignIn(_builtin(builtin, admin_exists), True)
    return SignIn(None, builtin.configured and user == builtin.user)


def current_account(store: AccountStore, builtin: ManagerAccount, user: str, tag: object) -> StaffAccount | None:
    """The account a session names, as it is now (roles changed, disabled, password reset all count at once),
    or None when the session no longer stands. Raises StoreUnavailable as check_sign_in does."""
    is_builtin = builtin.configured and user == builtin.user and tag == builtin.tag
    try:
        record, admin_exists = store.lookup(user)
    except StoreUnavailable:
        if is_builtin:
            return _builtin(builtin, None)
        raise
    if record is not None:
        account = _from_record(record)
        return account if not record.disabled and account.tag == tag else None
    return _builtin(builtin, admin_exists) if is_builtin else None
