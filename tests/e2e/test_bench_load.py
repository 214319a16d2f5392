"""The load benchmark (bench/load.py) runs against the real bot and reports what it saw: a short soak over
REST and socket.io with scheduled handoffs, every message answered, every handoff a ticket and a mail.

It runs the command as `make bench` does, in a process of its own that starts its own Rasa server and
action server (own databases, own SMTP server), and reads the figures from its --json file. Timings are
printed by the benchmark, never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_soak_has_no_errors_and_loses_no_ticket(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    command = [
        sys.executable, str(ROOT / "bench" / "load.py"),
        "--soak", "8", "--handoff-every", "4", "--users", "2", "--transport", "both",
        "--think", "0.3", "1", "--sample-every", "4", "--json", str(figures),
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    print(run.stdout[-4000:], run.stderr[-4000:])
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]

    soak = json.loads(figures.read_text())["soak"]
    transports = soak["transports"]
    assert set(transports) == {"rest", "socketio"}
    for series in transports.values():
        assert series["replies"] > 0 and series["errors"] == {}
    handoffs = soak["handoffs"]
    assert handoffs["confirmed"] >= 1  # scheduled 4 s after the start, and finished after the time is up
    assert handoffs["lost"] == [] and handoffs["failed"] == {}
    assert handoffs["tickets_created"] == handoffs["confirmed"] == handoffs["mailed"]
    last = soak["samples"][-1]
    assert last["conversations"] > 0 and last["tracker_bytes"] > 0
    assert all(mb > 0 for mb in last["rss_mb"].values())
    assert {"RIS3 rasa", "RIS3 actions", "client"} <= set(last["rss_mb"])
    assert "no errors, no lost tickets" in run.stdout
