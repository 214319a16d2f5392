"""Reply latency of knowledge questions never asked before, against the default `rasa init` bot in the same run.

    .venv-actions/bin/python bench/fresh_question_latency.py [--requests 300]

A repeated question is answered from the action server's embedding cache; a new one pays for the encoding.
Here every message is new: the FAQ suite's e2e questions, each with an opener and a closing no other message
has, so no text repeats. One user sends to our bot (its own Rasa and action server, bot.runtime) and to the
default bot (bench/default_bot.py) in turn, the same message to both, so that both meet the same load on the
machine. Printed: p50, p95 and mean per bot over REST, our p50 / theirs, and the resident memory (now and peak)
of our Rasa server and action server after the run (the back office's: bench/review_memory.py).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from default_bot import DefaultBot, prepare  # noqa: E402
from latency import ask, percentile, questions  # noqa: E402
from proc_stats import tree  # noqa: E402

from bot.runtime import BotProcesses  # noqa: E402


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB of a process and every process below it (Sanic runs its app in a worker)."""
    rss = peak = 0.0
    for member in tree(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak += int(line.split()[1]) / 1024
    return rss, peak


OPENERS = ("", "Hi, ", "Hello! ", "Quick question: ", "Moi, ", "Sorry to bother you, ", "Hei! ", "Good morning, ")
CLOSINGS = ("", " Thanks.", " Kiitos!", " Please.", " Thanks in advance!", " Kiitos paljon.")


def fresh_messages(count: int) -> list[str]:
    """count distinct messages: every question with every opener and closing, in an order that varies all three."""
    base = questions()
    combos = itertools.product(CLOSINGS, OPENERS, base)
    messages = [f"{opener}{question}{closing}" for closing, opener, question in combos]
    if len(messages) < count:
        raise SystemExit(f"only {len(messages)} distinct messages; ask for fewer")
    # Spread over the questions first, so that a short run still covers them all.
    return messages[:count]


def figures(name: str, seconds: list[float]) -> float:
    ms = [1000 * s for s in seconds]
    p50 = percentile(ms, 0.5)
    print(f"  {name:12} {len(ms)} replies: p50 {p50:.1f} ms, p95 {percentile(ms, 0.95):.1f} ms, "
          f"mean {statistics.mean(ms):.1f} ms")
    return p50


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="new messages sent to each bot")
    args = parser.parse_args()
    messages = fresh_messages(args.requests)
    print(f"{len(messages)} distinct messages, none sent twice")
    default = DefaultBot(prepare()).start()
    ours = BotProcesses().start()
    try:
        for _ in range(10):  # warm both (conversation stores, the models' first calls)
            ask(ours.url, "warm", "What are the priorities?")
            ask(default.url, "warm", "What are the priorities?")
        mine: list[float] = []
        theirs: list[float] = []
        for i, text in enumerate(messages):
            # A new conversation every ten messages, as visitors have short ones.
            mine.append(ask(ours.url, f"fresh-{i // 10}", text))
            theirs.append(ask(default.url, f"fresh-{i // 10}", text))
        print("one user, REST:")
        p50 = figures("RIS3 bot", mine)
        default_p50 = figures("default bot", theirs)
        print(f"  p50 ratio (ours / default): {p50 / default_p50:.2f}")
        print("resident memory after the run (MB, now / peak):")
        total = 0.0
        for name, process in ours.processes.items():
            now, peak = memory_mb(process.pid)
            total += peak
            print(f"  {name:12} {now:6.0f} / {peak:6.0f}")
        print(f"  together     peak {total:6.0f}")
    finally:
        ours.stop()
        default.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
