"""The manager's password: argon2 hashes made by `bin/bot web hash-password`, checked at sign-in."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if not password:
        raise ValueError("the password is empty")
    return _hasher.hash(password)


class ManagerAccount:
    """Checks a user name and password against the one configured account.

    A wrong user name costs as much as a wrong password (the hash is verified either way), so the time
    an answer takes does not tell whether the name exists."""

    def __init__(self, user: str, password_hash: str) -> None:
        self.user = user
        self.configured = bool(user and password_hash)
        # Without a configured account every sign-in fails, but still after a real argon2 verification.
        self._hash = password_hash if self.configured else _hasher.hash(secrets.token_urlsafe(16))
        # Sessions carry this tag and must match it: a new password or user name ends all older sessions.
        self.tag = hashlib.sha256(f"{self.user}\0{self._hash}".encode()).hexdigest()[:16]

    def check(self, user: str, password: str) -> bool:
        """Blocking (argon2 is deliberately slow): call it through asyncio.to_thread."""
        password_ok: bool
        try:
            password_ok = _hasher.verify(self._hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            password_ok = False
        user_ok = hmac.compare_digest(user.encode(), self.user.encode())
        return self.configured and user_ok and password_ok
