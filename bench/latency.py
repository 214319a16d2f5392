"""Prints the bot's start-up time and reply latency over REST.

    .venv-actions/bin/python bench/latency.py [--url http://localhost:5005] [--requests 200] [--users 1 10]

Without --url it starts its own Rasa server and action server (bot.runtime) and reports how long they
took to come up and to give the first answer. The questions cycle through tests/faq/cases/e2e_*.yml.
Each user is a separate conversation; latency is the time of one POST to /webhooks/rest/webhook.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.runtime import BotProcesses  # noqa: E402


def ask(url: str, sender: str, text: str) -> float:
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return time.perf_counter() - started


def questions() -> list[str]:
    from bot.faq.cases import DEFAULT_CASES, load_case_file

    return [case.question for lang in ("en", "fi") for case in load_case_file(DEFAULT_CASES / f"e2e_{lang}.yml")]


def run_load(url: str, users: int, requests: int, texts: list[str]) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_user = max(1, requests // users)

    def user(n: int) -> None:
        nonlocal errors
        for i in range(per_user):
            try:
                # A new conversation every ten messages, as real visitors have short ones.
                elapsed = ask(url, f"bench-{n}-{i // 10}", texts[(n + i) % len(texts)])
            except OSError:
                with lock:
                    errors += 1
                continue
            with lock:
                latencies.append(elapsed)

    started = time.perf_counter()
    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - started, errors


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="measure a running bot instead of starting one")
    parser.add_argument("--requests", type=int, default=200, help="requests per load level")
    parser.add_argument("--users", type=int, nargs="+", default=[1, 10], help="concurrent users per level")
    args = parser.parse_args()

    texts = questions()
    bot: BotProcesses | None = None
    url = args.url
    if url is None:
        started = time.perf_counter()
        bot = BotProcesses().start()
        up = time.perf_counter() - started
        ask(bot.url, "bench-first", texts[0])
        first = time.perf_counter() - started
        url = bot.url
        print(f"start-up: servers up {up:.1f} s, first answer {first:.1f} s after launch")
    try:
        for _ in range(5):  # warm the conversation store and the model's caches
            ask(url, "bench-warm", texts[0])
        for users in args.users:
            latencies, wall, errors = run_load(url, users, args.requests, texts)
            ms = [1000 * v for v in latencies]
            print(
                f"{users:>3} user(s): {len(ms)} replies, {errors} errors, p50 {percentile(ms, 0.5):.0f} ms, "
                f"p95 {percentile(ms, 0.95):.0f} ms, mean {statistics.mean(ms):.0f} ms, "
                f"{len(ms) / wall:.1f} msg/s"
            )
    finally:
        if bot is not None:
            bot.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
