"""The Rasa server's metrics: messages and their latency per channel, and GET /metrics.

Loaded as a channel from credentials.yml (`bot.metrics.rasa_channel.MetricsInput`), so the server module is
not edited: Rasa registers a channel's blueprint under `/webhooks/` + its prefix, and an absolute prefix
puts the route at /metrics. Every channel (REST, website chat, Telegram) hands its messages to Rasa's
Agent.handle_message; timing that one call counts them all the same way, socket.io included.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter, Histogram
from rasa.core.agent import Agent
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.metrics.exposition import METRICS_PATH, scrape

MESSAGES = Counter("ris3_messages", "User messages handled by the Rasa server, by channel", ["channel"])
MESSAGE_ERRORS = Counter(
    "ris3_message_errors", "User messages whose handling raised an error, by channel", ["channel"]
)
# From the message reaching Rasa to its replies handed to the channel: NLU, the action call, the tracker.
LATENCY = Histogram(
    "ris3_message_seconds",
    "Time Rasa took to handle one user message, by channel",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
)


def _channel(message: UserMessage) -> str:
    # A bounded set of labels: the channels' own names, never anything a user chose.
    name = (message.input_channel or "unknown").strip().lower()
    return name if name.isidentifier() and len(name) <= 32 else "other"


def _timed(handle: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(handle)
    async def handle_message(self: Agent, message: UserMessage, *args: Any, **kwargs: Any) -> Any:
        channel = _channel(message)
        started = time.perf_counter()
        try:
            return await handle(self, message, *args, **kwargs)
        except Exception:
            MESSAGE_ERRORS.labels(channel).inc()
            raise
        finally:
            MESSAGES.labels(channel).inc()
            LATENCY.labels(channel).observe(time.perf_counter() - started)

    handle_message.ris3_timed = True  # type: ignore[attr-defined]
    return handle_message


def instrument_agent() -> None:
    """Times Agent.handle_message, once per process however many times the channel is built."""
    if not getattr(Agent.handle_message, "ris3_timed", False):
        Agent.handle_message = _timed(Agent.handle_message)  # type: ignore[method-assign]


class MetricsInput(InputChannel):
    """Not a conversation channel: it takes no messages, it serves GET /metrics."""

    @classmethod
    def name(cls) -> str:
        return "metrics"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    def url_prefix(self) -> str:
        # urljoin("/webhooks/", "/metrics") is "/metrics".
        return METRICS_PATH

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        instrument_agent()
        metrics = Blueprint("ris3_metrics", __name__)

        @metrics.route("/", methods=["GET"])
        async def serve_metrics(request: Request) -> HTTPResponse:
            result = scrape(request.headers.get("Authorization"))
            return response.raw(result.body, status=result.status, content_type=result.content_type)

        return metrics
