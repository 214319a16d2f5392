"""bot/lock_store.py against a real Redis, in Rasa's runtime (Python 3.10, a child process): tickets taken
for one conversation by several servers at the same moment are all different, and a server that finishes
never deletes a ticket another server has just taken. Rasa's own RedisLockStore, run the same way, is
measured for comparison (reported, not asserted: its races depend on timing)."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Callable

from bot.runtime import RASA_VENV, child_environment
from bot.settings import PROJECT_ROOT
from tests.scale.cluster import REDIS_HOST, REDIS_PORT, delete_keys, require_redis

PROBE = r"""
import json, sys, threading
from rasa.core.lock_store import RedisLockStore
from bot.lock_store import AtomicRedisLockStore

kind, host, port, prefix, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
make = {"atomic": AtomicRedisLockStore, "rasa": RedisLockStore}[kind]
# Four "servers": four stores with their own connections, as four processes would have.
stores = [make(host=host, port=port, db=0, key_prefix=prefix) for _ in range(4)]
clashes = 0
for r in range(rounds):
    conversation = f"c{r}"
    tickets = [None] * len(stores)
    barrier = threading.Barrier(len(stores))
    def take(i):
        barrier.wait()
        tickets[i] = stores[i].issue_ticket(conversation, 30)
    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(stores))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    clashes += len(tickets) != len(set(tickets))
    for i, ticket in enumerate(tickets):
        stores[i].cleanup(conversation, ticket)

# One server finishes while another has just taken the next ticket: that ticket must survive.
first, second = stores[0], stores[1]
a = first.issue_ticket("handover", 30)
b = second.issue_ticket("handover", 30)
first.cleanup("handover", a)
lock = second.get_lock("handover")
survives = lock is not None and not lock.is_locked(b)
second.cleanup("handover", b)
print(json.dumps({"clashes": clashes, "rounds": rounds, "survives": survives,
                  "left": second.get_lock("handover") is not None}))
"""


def _probe(kind: str, rounds: int) -> dict[str, object]:
    prefix = f"ris3locktest{secrets.token_hex(4)}"
    try:
        done = subprocess.run(
            [str(RASA_VENV / "bin" / "python"), "-c", PROBE, kind, REDIS_HOST, str(REDIS_PORT), prefix, str(rounds)],
            cwd=PROJECT_ROOT, env=child_environment(), capture_output=True, text=True, timeout=300,
        )
    finally:
        delete_keys(prefix)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_tickets_taken_at_once_by_several_servers_are_all_different(
    record_property: Callable[[str, object], None],
) -> None:
    require_redis()
    atomic = _probe("atomic", 200)
    assert atomic["clashes"] == 0
    assert atomic["survives"] is True and atomic["left"] is False
    rasa = _probe("rasa", 200)
    record_property("rasa_redis_lock_store_clashes", f"{rasa['clashes']}/{rasa['rounds']}")
