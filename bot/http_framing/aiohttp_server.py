"""An event loop whose servers put the framing check in front of their protocols: for aiohttp's run_app.

aiohttp builds each connection's request handler from a factory it passes to `loop.create_server`; it has no
hook of its own for that. `web.run_app(app, loop=guarded_event_loop())` gives it a loop whose create_server
wraps the factory, so every handler of the back office receives only well framed bytes. aiohttp's parser is
stricter than Sanic 21.12's, but the same rules hold for every server we run (docs/security.md).

Runs in the action runtime (Python 3.11, aiohttp).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.http_framing.guarded_protocol import GuardedProtocol


class GuardedEventLoop(asyncio.SelectorEventLoop):
    server_name = "back office"

    async def create_server(  # type: ignore[override]
        self, protocol_factory: Callable[[], asyncio.BaseProtocol], *args: Any, **kwargs: Any
    ) -> asyncio.Server:
        name = self.server_name

        def guarded_factory() -> asyncio.BaseProtocol:
            return GuardedProtocol(protocol_factory(), name)

        return await super().create_server(guarded_factory, *args, **kwargs)


def guarded_event_loop() -> asyncio.AbstractEventLoop:
    return GuardedEventLoop()
