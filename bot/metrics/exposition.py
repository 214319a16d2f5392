"""The scrape itself, shared by the Sanic and aiohttp routes: the token check and the text format."""

from __future__ import annotations

import os
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from bot.bearer import bearer_matches

METRICS_PATH = "/metrics"
TOKEN_ENV = "RIS3_METRICS_TOKEN"
# prometheus_client's own variable: with several Sanic workers each keeps its values in files there, and a
# scrape (answered by any worker) adds them up. Unset: one process, values in memory.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class Scrape:
    status: int
    body: bytes
    content_type: str


def metrics_token(environ: os._Environ[str] | dict[str, str] = os.environ) -> str:
    return (environ.get(TOKEN_ENV) or "").strip()


def refusal(authorization: str | None) -> Scrape | None:
    """503 without a configured token (as the internal routes), 401 without the right one, else None."""
    token = metrics_token()
    if len(token) < MIN_TOKEN_CHARS:
        return Scrape(503, f"set {TOKEN_ENV} (at least {MIN_TOKEN_CHARS} characters)\n".encode(), "text/plain")
    if not bearer_matches(token, authorization):
        return Scrape(401, b"send Authorization: Bearer <RIS3_METRICS_TOKEN>\n", "text/plain")
    return None


def _counted() -> CollectorRegistry:
    if not os.environ.get(MULTIPROCESS_ENV):
        return REGISTRY
    # Imported here: the module reads the directory's variable when it is loaded.
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def render(read_now: CollectorRegistry | None = None) -> Scrape:
    """Every counter of this process (or of all workers) and the figures read at scrape time, which live in
    a registry of their own: they are the same in every worker and must not be added up."""
    body = generate_latest(_counted())
    if read_now is not None:
        body += generate_latest(read_now)
    return Scrape(200, body, CONTENT_TYPE_LATEST)


def scrape(authorization: str | None, read_now: CollectorRegistry | None = None) -> Scrape:
    return refusal(authorization) or render(read_now)
