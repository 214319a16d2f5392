"""Limits on guessing the manager's password: failed sign-ins are counted per client address and per
user name, and too many within a window lock that address or name out for a while.

The check comes before the password is hashed, so a refused attempt costs no CPU, and an attempt counts
from the moment it is let through: of thirty sent at once, only as many as the limit get to the hash.
Each lockout lasts twice the one before, up to a cap; after a window without failures, the count and the
doubling start again. A successful sign-in clears its address's record; the user name's record is kept
(its failures may be someone else's), but its lockout never lasts longer than the cap."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from bot.web.config import WebSettings

# The records kept per kind; past this the least recently used are forgotten, so that a flood of made-up
# user names or addresses cannot grow the process without end.
MAX_RECORDS = 10_000
# A user name longer than this is not the manager's; it is counted by its beginning.
MAX_KEY_LENGTH = 256


class TooManyAttempts(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many sign-in attempts; retry after {retry_after:.0f} s")
        self.retry_after = retry_after

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)
    in_flight: int = 0
    lockouts: int = 0
    locked_until: float = 0.0
    last_event: float = 0.0


class FailureCounter:
    """Failures per key (an address or a user name) within a sliding window, with a growing lockout."""

    def __init__(self, limit: int, window: float, lockout: float, max_lockout: float) -> None:
        self.limit, self.window, self.lockout, self.max_lockout = limit, window, lockout, max_lockout
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def _record(self, key: str, now: float, *, create: bool) -> _Record | None:
        record = self._records.get(key)
        if record is not None:
            record.failures = [at for at in record.failures if at > now - self.window]
            quiet = now - max(record.last_event, record.locked_until) > self.window
            if quiet and not record.in_flight and not record.failures:
                del self._records[key]
                record = None
        if record is None and create:
            record = self._records[key] = _Record(last_event=now)
            while len(self._records) > MAX_RECORDS:
                self._records.popitem(last=False)
        if record is not None:
            self._records.move_to_end(key)
        return record

    def _lockout(self, number: int) -> float:
        return min(self.lockout * 2 ** (number - 1), self.max_lockout)

    def retry_after(self, key: str, now: float) -> float:
        """0 when the key may try now, else the seconds until it may."""
        record = self._record(key, now, create=False)
        if record is None:
            return 0.0
        if record.locked_until > now:
            return record.locked_until - now
        if len(record.failures) + record.in_flight >= self.limit:
            # The attempts still being checked use up what is left; if they fail, this lockout follows.
            return self._lockout(record.lockouts + 1)
        return 0.0

    def begin(self, key: str, now: float) -> None:
        record = self._record(key, now, create=True)
        assert record is not None
        record.in_flight += 1

    def fail(self, key: str, now: float) -> None:
        record = self._record(key, now, create=True)
        assert record is not None
        record.in_flight = max(0, record.in_flight - 1)
        record.failures.append(now)
        record.last_event = now
        if len(record.failures) >= self.limit:
            record.lockouts += 1
            record.locked_until = now + self._lockout(record.lockouts)
            record.failures.clear()

    def end(self, key: str, now: float, *, forget: bool) -> None:
        """An attempt that did not fail: it succeeded (forget: clear the key's record) or never ran."""
        record = self._record(key, now, create=False)
        if record is None:
            return
        if forget:
            del self._records[key]
        else:
            record.in_flight = max(0, record.in_flight - 1)


class SignInAttempt:
    """One sign-in let through. Unless marked succeeded() or abandoned(), it ends as a failure: an
    attempt whose request was cancelled while the password was being checked still counts."""

    def __init__(self, limits: SignInLimits, address: str, account: str) -> None:
        self._limits, self._address, self._account = limits, address, account
        self._outcome: str | None = None

    def succeeded(self) -> None:
        self._outcome = "succeeded"

    def abandoned(self) -> None:
        """The password was never checked (the checks were busy): the attempt counts for nothing."""
        self._outcome = "abandoned"

    def __enter__(self) -> SignInAttempt:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        now = self._limits.clock()
        addresses, accounts = self._limits.addresses, self._limits.accounts
        if self._outcome == "succeeded":
            addresses.end(self._address, now, forget=True)
            accounts.end(self._account, now, forget=False)
        elif self._outcome == "abandoned":
            addresses.end(self._address, now, forget=False)
            accounts.end(self._account, now, forget=False)
        else:
            addresses.fail(self._address, now)
            accounts.fail(self._account, now)


class SignInLimits:
    def __init__(self, settings: WebSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        window, lockout, cap = (
            settings.login_failure_window_seconds,
            settings.login_lockout_seconds,
            settings.login_lockout_max_seconds,
        )
        self.addresses = FailureCounter(settings.login_max_failures_per_address, window, lockout, cap)
        self.accounts = FailureCounter(settings.login_max_failures_per_account, window, lockout, cap)

    def attempt(self, address: str, user: str) -> SignInAttempt:
        """Let one sign-in through, counted at once; TooManyAttempts when its address or name is locked."""
        now = self.clock()
        account = user[:MAX_KEY_LENGTH]
        wait = max(self.addresses.retry_after(address, now), self.accounts.retry_after(account, now))
        if wait > 0:
            raise TooManyAttempts(wait)
        self.addresses.begin(address, now)
        self.accounts.begin(account, now)
        return SignInAttempt(self, address, account)
