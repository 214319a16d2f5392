"""Sanic's protocol classes behind the framing check, for `app.run(protocol=…)` / `app.prepare(protocol=…)`.

Module-level classes, so that Sanic's worker processes (which import the protocol class by its name) find
them. Works with the Sanic of either runtime (21.12 under Rasa, 25.x under the action server).
"""

from __future__ import annotations

from sanic.server.protocols.http_protocol import HttpProtocol
from sanic.server.protocols.websocket_protocol import WebSocketProtocol

from bot.http_framing.guarded_protocol import FramingGuardMixin


class GuardedHttpProtocol(FramingGuardMixin, HttpProtocol):
    framing_server_name = "http server"


class GuardedWebSocketProtocol(FramingGuardMixin, WebSocketProtocol):
    framing_server_name = "http server"


def guarded(protocol: type | None, websocket: bool) -> type:
    """The guarded class for the protocol Sanic would have chosen (its own rule when none is given)."""
    if protocol is None:
        protocol = WebSocketProtocol if websocket else HttpProtocol
    if issubclass(protocol, FramingGuardMixin):
        return protocol
    if protocol is WebSocketProtocol:
        return GuardedWebSocketProtocol
    if protocol is HttpProtocol:
        return GuardedHttpProtocol
    return type(f"Guarded{protocol.__name__}", (FramingGuardMixin, protocol), {})
