"""Rasa's Redis lock store made safe for several Rasa servers (or Sanic workers) at once.

Rasa (3.6) keeps one conversation's messages in order with a ticket lock: each message takes the next
ticket and waits until the tickets before it are done. Its `RedisLockStore` reads the lock, changes it in
Python and writes it back, with nothing in between: two servers that take a ticket for the same conversation
at the same moment both read "no tickets", both write ticket 0, and process the two messages at once.
The later save then drops the other turn's events from the tracker. Measured with two servers on one
machine (tests/scale/): 12 of 30 pairs of simultaneous messages lost a turn. The same happens when one
server finishes (deletes the lock) while another has just added its ticket: that message fails with
"Could not acquire lock".

Here every change of a lock is one Redis transaction (WATCH/MULTI: retried when another process changed the
lock in between), the lock key expires a minute after its last ticket would (a server that died holding a
ticket leaves nothing behind), and a waiting message looks again every 50 ms instead of every second.

endpoints.yml:

    lock_store:
      type: bot.lock_store.AtomicRedisLockStore
      url: redis.internal
      port: 6379
      key_prefix: ris3          # optional, alphanumeric

Runs in the Rasa runtime: Python 3.10, redis-py 4.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import WatchError

T = TypeVar("T")

WAIT_SECONDS = 0.05  # between two looks at a busy lock (Rasa: 1 s, which every queued message then waits)
KEY_GRACE_SECONDS = 60  # the key outlives its last ticket's expiry by this much
TRANSACTION_ATTEMPTS = 50  # WATCH conflicts in a row before giving up (each is another process's change)


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # as Rasa builds a lock store named by module path
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = WAIT_SECONDS
    ) -> AbstractAsyncContextManager[TicketLock]:
        return super().lock(conversation_id, lock_lifetime, wait_time_in_seconds)

    def _change(self, conversation_id: str, change: Callable[[TicketLock | None], tuple[TicketLock | None, T]]) -> T:
        """Applies `change` to the stored lock in one transaction. `change` gets the lock (None: none stored)
        and returns (the lock to store, None to delete it; its result)."""
        key = self.key_prefix + conversation_id
        for _ in range(TRANSACTION_ATTEMPTS):
            with self.red.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    stored = pipe.get(key)
                    lock = TicketLock.from_dict(_loads(stored)) if stored else None
                    new, result = change(lock)
                    pipe.multi()
                    if new is None or not new.tickets:
                        pipe.delete(key)
                    else:
                        expires = max(t.expires for t in new.tickets)
                        ttl = max(1, math.ceil(expires - time.time())) + KEY_GRACE_SECONDS
                        pipe.set(key, new.dumps(), ex=ttl)
                    pipe.execute()
                    return result
                except WatchError:
                    continue
        raise LockError(f"the lock of conversation '{conversation_id}' kept changing under this server")

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue)
        except LockError:
            raise
        except Exception as exc:  # as Rasa's: a Redis failure is a LockError to the caller
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def finish(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, finish)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # Rasa's: finish_serving, then delete the lock if nobody waits, in two steps, deleting a ticket another
        # server added in between. Here the lock is deleted only if it is empty when this ticket leaves.
        self.finish_serving(conversation_id, ticket_number)

    def save_lock(self, lock: TicketLock) -> None:
        # Only Rasa's own code would call this (all changes above go through _change); keep its expiry.
        self._change(lock.conversation_id, lambda _: (lock, None))


def _loads(stored: bytes | str) -> dict[str, Any]:
    return dict(json.loads(stored))

