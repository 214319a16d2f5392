"""Resident memory and CPU time of a server and its children, read from /proc (Linux).

A server is counted with every process below it (Sanic may fork workers; the action server's tokenizers
may start helpers), so a figure is what the machine spends on that server. Resident memory is VmRSS
summed over the tree: pages shared between a parent and its forked children are counted in each, so the
sum is an upper bound of what the tree occupies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class TreeSample:
    rss_bytes: int
    cpu_seconds: float
    processes: int
    # Time the tree's threads were ready to run but waited for a CPU (the scheduler's run queue): high when
    # other work on the machine takes the cores, so that a slow reply is not blamed on the bot alone.
    runqueue_seconds: float = 0.0


def _parent_map() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        # The command name (field 2) is in parentheses and may contain spaces: split after its end.
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def tree(pid: int, parents: dict[int, int] | None = None, stop_at: frozenset[int] = frozenset()) -> list[int]:
    """pid and all its descendants that are alive now, except those below (and at) the pids in stop_at."""
    parents = _parent_map() if parents is None else parents
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        if current in parents or current == pid:
            found.append(current)
            todo.extend(c for c in children.get(current, []) if c not in stop_at)
    return found


def _rss_bytes(pid: int) -> int:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0  # ended, or a kernel thread without memory of its own


def _cpu_seconds(pid: int) -> float:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2 :].split()
    # utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the command name.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _runqueue_seconds(pid: int) -> float:
    total = 0
    try:
        threads = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return 0.0
    for thread in threads:
        try:
            # schedstat: time on the CPU, time waiting on a run queue (both ns), time slices.
            total += int((thread / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def sample(pids: dict[str, int], apart: frozenset[int] = frozenset()) -> dict[str, TreeSample]:
    """One sample per named process: its tree's summed resident memory and CPU time so far. A named process
    below another one or in `apart` (the servers are children of the benchmark's own process) counts only in
    its own."""
    parents = _parent_map()
    out: dict[str, TreeSample] = {}
    for name, pid in pids.items():
        members = tree(pid, parents, (frozenset(pids.values()) | apart) - {pid})
        out[name] = TreeSample(
            rss_bytes=sum(_rss_bytes(p) for p in members),
            cpu_seconds=sum(_cpu_seconds(p) for p in members),
            processes=len(members),
            runqueue_seconds=sum(_runqueue_seconds(p) for p in members),
        )
    return out


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()
