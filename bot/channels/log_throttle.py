"""Log lines for events that can come in floods (refused webhook requests, repeated updates, retries,
failed deliveries): the first of a kind is logged at once, the rest of that kind within the interval are
counted and said with the next line logged after it, so a flood makes one line a minute, not one per
request. Standard library only (the Rasa runtime and the action runtime both import it).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

DEFAULT_INTERVAL_SECONDS = 60.0
CHANNELS_LOGGER = "bot.channels"


def show_channel_logs() -> None:
    """Rasa sets the level of its own loggers only (LOG_LEVEL: INFO unless --debug or --quiet); ours inherit
    the root logger's, which an import made while the model loads (numpy's distutils) turns to WARNING, so
    under `bin/bot run` the channels' INFO lines (refused requests, rate limits, retries) vanished. The
    channels' loggers follow Rasa's level (or a finer one already set), unless configured otherwise."""
    channel_logger = logging.getLogger(CHANNELS_LOGGER)
    if channel_logger.level != logging.NOTSET:
        return
    wanted = logging.getLevelName(os.environ.get("LOG_LEVEL", "INFO").upper())
    level = wanted if isinstance(wanted, int) else logging.INFO
    channel_logger.setLevel(min(level, channel_logger.getEffectiveLevel()))


class ThrottledLog:
    def __init__(
        self,
        logger: logging.Logger,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}  # kind -> when its last line was logged
        self._left_out: dict[str, int] = {}  # kind -> lines left out since

    def log(self, kind: str, level: int, message: str, *args: Any) -> bool:
        """Logs message % args unless a line of this kind was logged less than the interval ago (then it is
        only counted); True when logged."""
        now = self._clock()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            self._left_out[kind] = self._left_out.get(kind, 0) + 1
            return False
        self._last[kind] = now
        left_out = self._left_out.pop(kind, 0)
        if left_out:
            message += " (and %d more like it in the last %.0f s)"
            args = (*args, left_out, now - (last or now))
        self._logger.log(level, message, *args)
        return True

    def flush(self, level: int = logging.INFO) -> None:
        """Says how many lines were left out and not said yet (at shutdown)."""
        for kind, count in sorted(self._left_out.items()):
            self._logger.log(level, "%d more %s not logged in the last %.0f s", count, kind, self._interval)
        self._left_out.clear()
