"""The Rasa server's request size limit, set by the project's channels.

Sanic accepts 100 MB bodies by default, and Rasa reads and parses all of it before a channel sees the
message: 10 MB stalled the server for ~40 s and took it to 4.5 GB. Each of our channels' blueprints lowers
the app's REQUEST_MAX_SIZE to RIS3_MAX_REQUEST_BYTES when it is registered (before the server starts, so
every connection gets it), and Sanic then answers 413 without reading a larger body, for every route.

Runs in the Rasa runtime (Python 3.10, sanic 21.12).
"""

from __future__ import annotations

from typing import Any

from sanic import Blueprint

from bot.channels.limits import Limits


def limit_request_size(app: Any, limits: Limits) -> None:
    config = getattr(app, "config", None)
    if config is None:
        return
    current = int(getattr(config, "REQUEST_MAX_SIZE", limits.max_request_bytes))
    config.REQUEST_MAX_SIZE = min(current, limits.max_request_bytes)
    # Sanic's own errors (413 among them) as JSON, like every other answer of this server, not an HTML page.
    if getattr(config, "FALLBACK_ERROR_FORMAT", "json") != "json":
        config.FALLBACK_ERROR_FORMAT = "json"


class LimitedBlueprint(Blueprint):
    """A blueprint that lowers its app's request size limit when registered."""

    def __init__(self, limits: Limits, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx.limits = limits

    def register(self, app: Any, options: dict[str, Any]) -> None:
        limit_request_size(app, self.ctx.limits)
        super().register(app, options)
