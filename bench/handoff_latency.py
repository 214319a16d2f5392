"""Prints the time from a user's confirmation of a handoff to the e-mail reaching the project manager.

    .venv-actions/bin/python bench/handoff_latency.py [--runs 10]

Starts its own Rasa server and action server with e-mail notifications pointed at a local SMTP server
(aiosmtpd), fills the handoff form over REST, and measures from the confirming POST until the mail
with the ticket's reference has arrived.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.runtime import BotProcesses, free_port  # noqa: E402
from tests.conftest import Mailbox, post_message  # noqa: E402


def text(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    env = {
        "RIS3_HANDOFF_SMTP_HOST": "127.0.0.1",
        "RIS3_HANDOFF_SMTP_PORT": str(port),
        "RIS3_HANDOFF_SMTP_FROM": "ris3-bot@example.fi",
        "RIS3_HANDOFF_MANAGER_EMAIL": "project.manager@example.fi",
    }
    timings: list[float] = []
    try:
        with BotProcesses(env=env) as bot:
            post_message(bot.url, "warm", "what is smart specialisation?")
            for n in range(args.runs):
                sender = f"bench-{uuid.uuid4().hex[:8]}"
                for message in ["I want to talk to a person", f"Bench User {n}", "bench@example.fi",
                                "When will the strategy be published?", "/affirm"]:
                    post_message(bot.url, sender, message)
                started = time.perf_counter()
                done = text(post_message(bot.url, sender, "/affirm"))
                match = re.search(r"RIS3-[0-9A-Z]{4}", done)
                if not match:
                    print(f"run {n}: no reference in {done!r}")
                    continue
                while not any(match.group(0) in str(m) for m in box.messages):
                    if time.perf_counter() - started > 60:
                        print(f"run {n}: no mail within 60 s")
                        break
                    time.sleep(0.005)
                else:
                    timings.append(time.perf_counter() - started)
    finally:
        controller.stop()
    if timings:
        ms = sorted(1000 * t for t in timings)
        print(f"confirmation -> mail: {len(ms)} runs, median {statistics.median(ms):.0f} ms, "
              f"min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms")
    return 0 if len(timings) == args.runs else 1


if __name__ == "__main__":
    raise SystemExit(main())
