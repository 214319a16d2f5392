"""Staff passwords: argon2 hashes (`bin/bot web hash-password` for the settings' account, `bin/bot accounts` and
the Accounts page for the others), checked at sign-in, and the rules a new password must meet."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Long enough that guessing is hopeless behind the sign-in limits; bounded so that hashing stays cheap.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


def password_problem(password: str, user: str = "") -> str | None:
    """Why this password may not be set for a staff account, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password is too short: at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password is too long: at most {MAX_PASSWORD_LENGTH} characters."
    if user and user.lower() in password.lower():
        return "The password may not contain the user name."
    if len(set(password)) < 4:
        return "The password repeats too few characters; choose a longer, varied one."
    return None


def verify(password_hash: str, password: str) -> bool:
    """Blocking (argon2 is deliberately slow)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def dummy_hash() -> str:
    """A hash no password matches, to spend a verification's time on a name that does not exist."""
    return _hasher.hash(secrets.token_urlsafe(16))


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
