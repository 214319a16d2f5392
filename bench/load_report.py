"""Figures of the load benchmark: percentiles, summaries of what the users measured, printed tables."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from load_run import Load, Peaks, Series

MB = 1024 * 1024


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of all values at or below it."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def series_summary(series: Series, wall: float) -> dict[str, Any]:
    seconds = series.seconds()
    ms = [1000 * s for s in seconds]
    return {
        "messages": series.messages,
        "replies": len(ms),
        "throughput": len(ms) / wall if wall > 0 else math.nan,
        "p50_ms": percentile(ms, 0.50),
        "p95_ms": percentile(ms, 0.95),
        "p99_ms": percentile(ms, 0.99),
        "max_ms": max(ms) if ms else math.nan,
        "errors": dict(series.errors),
        "error_examples": dict(series.examples),
        "conversations": series.conversations,
        "finished": series.finished,
        "connect_p50_ms": percentile([1000 * s for s in series.connects], 0.50),
        "connect_p95_ms": percentile([1000 * s for s in series.connects], 0.95),
        "late_parts": series.late_parts,
        "by_kind": {
            kind: {
                "replies": len(values),
                "p50_ms": percentile([1000 * v for v in values], 0.50),
                "p95_ms": percentile([1000 * v for v in values], 0.95),
            }
            for kind, values in sorted(series.by_kind.items())
        },
    }


def load_summary(load: Load) -> dict[str, Any]:
    wall = load.ended - load.started
    return {
        "bot": load.target.name,
        "wall_seconds": wall,
        "transports": {t: series_summary(s, wall) for t, s in sorted(load.series.items())},
    }


def peaks_summary(peaks: Peaks, wall: float) -> dict[str, Any]:
    return {
        name: {
            "peak_rss_mb": peaks.rss.get(name, 0) / MB,
            "cpu_percent": 100 * (peaks.cpu_end.get(name, 0) - peaks.cpu_start.get(name, 0)) / wall if wall else 0,
            "runqueue_percent": (
                100 * (peaks.wait_end.get(name, 0) - peaks.wait_start.get(name, 0)) / wall if wall else 0
            ),
            "processes": peaks.processes.get(name, 0),
        }
        for name in peaks.pids
    }


def errors_of(load: Load) -> Counter[str]:
    total: Counter[str] = Counter()
    for series in load.series.values():
        total.update(series.errors)
    return total


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def series_table(rows: list[tuple[str, dict[str, Any]]]) -> list[str]:
    lines = [
        f"  {'bot / transport':22} {'msgs':>6} {'msg/s':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'errors':>6} {'conversations (finished)':>25}"
    ]
    for label, s in rows:
        errors = sum(s["errors"].values())
        lines.append(
            f"  {label:22} {s['replies']:6d} {s['throughput']:6.2f} {_ms(s['p50_ms']):>7} {_ms(s['p95_ms']):>7} "
            f"{_ms(s['p99_ms']):>7} {_ms(s['max_ms']):>7} {errors:6d} {s['conversations']:>15d} ({s['finished']})"
        )
    return lines


def kinds_line(label: str, s: dict[str, Any]) -> str:
    """p50/p95 per kind of message: a knowledge question costs more than a greeting."""
    parts = [f"{kind} {k['replies']}: {_ms(k['p50_ms'])}/{_ms(k['p95_ms'])}" for kind, k in s["by_kind"].items()]
    return f"  {label} by kind (replies: p50/p95 ms): " + ", ".join(parts)


def process_table(rows: list[tuple[str, dict[str, Any]]]) -> list[str]:
    lines = [f"  {'process (with children)':26} {'CPU':>6} {'CPU wait':>9} {'peak RSS':>10} {'processes':>10}"]
    for label, p in rows:
        lines.append(
            f"  {label:26} {p['cpu_percent']:5.0f}% {p['runqueue_percent']:8.0f}% {p['peak_rss_mb']:7.0f} MB "
            f"{p['processes']:10d}"
        )
    return lines


def errors_line(errors: Counter[str], examples: dict[str, str]) -> str:
    if not errors:
        return "errors: none"
    parts = [f"{kind} {count} (e.g. {examples.get(kind, '')!r})" for kind, count in errors.most_common()]
    return "errors: " + "; ".join(parts)


def ratio(ours: float, theirs: float) -> str:
    if math.isnan(ours) or math.isnan(theirs) or theirs == 0:
        return "-"
    return f"{ours / theirs:.2f}×"
