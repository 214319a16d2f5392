"""Running the argon2 checks of sign-ins: a few at a time, on threads of their own, never piling up.

Each check takes tens of milliseconds of CPU and 64 MiB on purpose. Run on the event loop's shared
threads, a burst of sign-ins took every thread the inbox and the API need for the database; here at most
`concurrency` run at once on a pool of their own and `queue` more wait, and a sign-in beyond those is
turned away at once instead of waiting behind them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor


class PasswordChecksBusy(RuntimeError):
    """Every slot is taken: try again in a moment."""


class PasswordChecks:
    def __init__(self, concurrency: int, queue: int) -> None:
        self.capacity = concurrency + queue
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ris3-password-check")
        # Released when the check's thread is done, not when its request is: a cancelled request's
        # check may still be running, and it still holds its slot until then.
        self._lock = threading.Lock()
        self._taken = 0

    @property
    def taken(self) -> int:
        """Checks running or waiting."""
        with self._lock:
            return self._taken

    def _release(self, _future: Future[bool] | None = None) -> None:
        with self._lock:
            self._taken -= 1

    async def run(self, check: Callable[[], bool]) -> bool:
        with self._lock:
            if self._taken >= self.capacity:
                raise PasswordChecksBusy("too many sign-ins at once")
            self._taken += 1
        try:
            future = self._executor.submit(check)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(self._release)
        # A cancelled wait cancels a check that has not started yet; one already running finishes.
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
