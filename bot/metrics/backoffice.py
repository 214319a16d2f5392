"""The back office's metrics: the outbox (jobs waiting, the oldest waiting, deliveries given up), the
database as /health sees it, and sign-ins refused; GET /metrics on its aiohttp app.

The outbox figures are read from the database at scrape time, so every back office instance reports the
same, whole-deployment values, and they survive restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.handoff.models import MessageJob, NotificationJob, utcnow
from bot.metrics.exposition import METRICS_PATH, refusal, render
from bot.web.auth import LOGIN_PATH
from bot.web.keys import HEALTH, STORE

# The sign-in page's refusals by why: a wrong name or password (401), too many attempts (429), the password
# checks all busy (503).
SIGN_IN_REFUSALS = Counter("ris3_sign_in_refusals", "Back-office sign-ins refused, by reason", ["reason"])
REFUSAL_REASONS = {401: "wrong_credentials", 429: "locked_out", 503: "busy"}


def outbox_rows(engine: Engine, now: datetime) -> list[tuple[str, str, int, float]]:
    """(queue, status, jobs, age of the oldest pending in seconds) for both queues: notifications to the
    project manager and the thread's messages to the user."""
    rows: list[tuple[str, str, int, float]] = []
    with engine.connect() as connection:
        for queue, table in (("notifications", NotificationJob), ("replies", MessageJob)):
            counts = dict(
                connection.execute(select(table.status, func.count()).group_by(table.status)).all()
            )
            oldest = connection.execute(
                select(func.min(table.created_at)).where(table.status == "pending")
            ).scalar()
            if isinstance(oldest, str):  # SQLite hands back text where the column type is not applied
                oldest = datetime.fromisoformat(oldest)
            if oldest is not None and oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=now.tzinfo)
            age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
            for status in ("pending", "held", "failed", "sent"):
                if status == "held" and table is NotificationJob:
                    continue
                rows.append((queue, status, int(counts.get(status, 0)), age))
    return rows


class BackOfficeState(Collector):
    """Collected on each scrape, from the app's store and its database health."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, int, float]] = []
        self.database_state = "down"

    async def refresh(self, app: web.Application) -> None:
        self.database_state = await app[HEALTH].state()
        try:
            self.rows = await asyncio.to_thread(outbox_rows, app[STORE].engine, utcnow())
        except Exception:  # a database that cannot be read leaves no figures, and the health gauge says why
            self.rows = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily("ris3_outbox_jobs", "Outbox jobs by queue and status", labels=["queue", "status"])
        oldest = GaugeMetricFamily(
            "ris3_outbox_oldest_pending_seconds", "Age of the oldest pending job, by queue", labels=["queue"]
        )
        for queue, status, count, age in self.rows:
            jobs.add_metric([queue, status], count)
            if status == "pending":
                oldest.add_metric([queue], age)
        yield jobs
        yield oldest
        health = GaugeMetricFamily(
            "ris3_database_state", "The handoff database as /health sees it (1 for the current state)",
            labels=["state"],
        )
        for state in ("ok", "read-only", "down"):
            health.add_metric([state], 1.0 if self.database_state == state else 0.0)
        yield health


@web.middleware
async def count_sign_in_refusals(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    answer = await handler(request)
    if request.method == "POST" and request.path == LOGIN_PATH and answer.status in REFUSAL_REASONS:
        SIGN_IN_REFUSALS.labels(REFUSAL_REASONS[answer.status]).inc()
    return answer


def setup_metrics(app: web.Application) -> None:
    """GET /metrics and the sign-in counter; called while the app's routes are set up."""
    state = BackOfficeState()
    read_now = CollectorRegistry()
    read_now.register(state)

    async def serve_metrics(request: web.Request) -> web.Response:
        scraped = refusal(request.headers.get("Authorization"))
        if scraped is None:
            await state.refresh(request.app)
            scraped = render(read_now)
        content_type, _, charset = scraped.content_type.partition("; charset=")
        return web.Response(
            body=scraped.body, status=scraped.status, content_type=content_type, charset=charset or None
        )

    app.router.add_get(METRICS_PATH, serve_metrics)
    app.middlewares.append(count_sign_in_refusals)
