"""The action server's metrics: what the bot decided (answers, hedged answers, declines, questions back),
handoff tickets, and the knowledge index switched in without a restart; GET /metrics on its Sanic app."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.metrics.exposition import METRICS_PATH, scrape

DECISIONS = Counter(
    "ris3_decisions",
    "Replies of action_answer by outcome (answer, hedge, decline, clarify) and language",
    ["outcome", "language"],
)
HANDOFFS = Counter("ris3_handoffs", "Handoff tickets written, by the channel the user came from", ["channel"])
LANGUAGES = frozenset({"en", "fi"})


def decision_outcome(record: Mapping[str, Any]) -> str:
    """The one word staff and alerts count a reply by, from the decision record kept in the slot."""
    if record.get("kind") not in (None, "answer"):
        return "clarify"  # a question back ("Do you mean …?") or a list to choose from
    if not record.get("answered"):
        return "decline"
    return "hedge" if record.get("hedged") else "answer"


def count_decision(record: Mapping[str, Any]) -> None:
    language = record.get("language")
    DECISIONS.labels(decision_outcome(record), language if language in LANGUAGES else "other").inc()


def count_handoff(channel: str | None) -> None:
    name = (channel or "unknown").strip().lower()
    HANDOFFS.labels(name if name.isidentifier() and len(name) <= 32 else "other").inc()


class IndexReloads(Collector):
    """Read at scrape time from the knowledge service, which counts its own switches."""

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        # Imported here: the service pulls in the embedding runtime, which a scrape must not load first.
        from bot.knowledge.service import reload_status

        status = reload_status()
        swaps = CounterMetricFamily("ris3_index_rebuilds", "New knowledge indexes switched in without a restart")
        swaps.add_metric([], float(status["swaps"]))
        yield swaps
        failed = GaugeMetricFamily(
            "ris3_index_reload_failed", "1 when the newest index could not be loaded (the previous one serves)"
        )
        failed.add_metric([], 1.0 if status["last_error"] else 0.0)
        yield failed


READ_NOW = CollectorRegistry()
READ_NOW.register(IndexReloads())


def install(app: Sanic) -> None:
    """GET /metrics on the action server (the server's token check must let the path through: this route
    checks the metrics token itself)."""

    async def serve_metrics(request: Request) -> HTTPResponse:
        result = scrape(request.headers.get("Authorization"), READ_NOW)
        return response.raw(result.body, status=result.status, content_type=result.content_type)

    app.add_route(serve_metrics, METRICS_PATH, methods=["GET"], name="ris3_metrics")
