"""The framing check put in front of a server's own protocol (Sanic's or aiohttp's), connection by connection.

Two shapes, one behaviour: `FramingGuardMixin` goes first in a subclass of a Sanic protocol class (Sanic
creates its protocols from a class it is given); `GuardedProtocol` wraps an aiohttp request handler (aiohttp
creates them from a factory). Either way the server's protocol receives only bytes that RequestFraming has
accepted; on the first framing error the client gets a 400 and the connection is closed, before the server
reads anything of the bad request.

Runs in both runtimes (Python 3.10 and 3.11).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.http_framing.check import FramingError, RequestFraming, refusal

logger = logging.getLogger(__name__)


LINGER_SECONDS = 1.0


def refuse(transport: Any, error: FramingError, server: str) -> None:
    """Answers 400 and closes. The close lingers: our side is shut for writing at once, and what the client
    still sends is read and dropped for a moment before the socket closes, because closing a socket with
    unread bytes sends a reset that can destroy the 400 before the client reads it."""
    logger.warning("%s: a request refused for its framing (%s); connection closed", server, error)
    if transport is None or transport.is_closing():
        return
    # (uvloop's transports are not registered as asyncio.WriteTransport: no isinstance check here.)
    transport.write(refusal(error))
    if transport.can_write_eof():
        transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, transport.close)
    else:
        transport.close()  # sends what was written first


class FramingGuardMixin:
    """First base of a subclass of a Sanic HttpProtocol or WebSocketProtocol."""

    _framing: RequestFraming | None = None
    framing_server_name = "server"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._framing = RequestFraming(switched=self._framing_switched)
        super().connection_made(transport)  # type: ignore[misc]

    def _framing_switched(self) -> bool:
        # Sanic's WebSocketProtocol sets `websocket` once it has answered 101 Switching Protocols.
        return getattr(self, "websocket", None) is not None

    def data_received(self, data: bytes) -> None:
        framing = self._framing
        if framing is None:
            super().data_received(data)  # type: ignore[misc]
            return
        if framing.refused:
            return
        fed = framing.feed(data)
        if fed.accepted:
            super().data_received(fed.accepted)  # type: ignore[misc]
        if fed.error is not None:
            refuse(getattr(self, "transport", None), fed.error, self.framing_server_name)


class GuardedProtocol(asyncio.Protocol):
    """An aiohttp request handler behind the framing check (everything else passed to it unchanged)."""

    def __init__(self, inner: Any, server_name: str) -> None:
        self._inner = inner
        self._server_name = server_name
        self._transport: asyncio.BaseTransport | None = None
        # The back office serves no WebSocket: after an upgrade request the bytes are read as HTTP again.
        self._framing = RequestFraming()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._framing.refused:
            return
        fed = self._framing.feed(data)
        if fed.accepted:
            self._inner.data_received(fed.accepted)
        if fed.error is not None:
            refuse(self._transport, fed.error, self._server_name)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
