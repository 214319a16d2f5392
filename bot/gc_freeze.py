"""Keeping the servers' start-up objects out of Python's full garbage collections.

A loaded Rasa server holds about 520,000 objects (TensorFlow's and Rasa's modules, the model, the domain),
the action server about 140,000; every full collection walks them all while the event loop stands still.
Measured on this machine (docs/profile.md): Rasa's full collections took 76–285 ms each, the action
server's 50–110 ms, and 1.2 s of Rasa's start; under load they were few (the load's p99 did not move).
These objects live as long as the process, so once the server has loaded they are moved out of the
collector's sight (`gc.freeze`); the collections then see only what came after. Garbage made before is
collected first.

Runs in both runtimes (Python 3.10 and 3.11).
"""

from __future__ import annotations

import gc
import logging
import time

logger = logging.getLogger(__name__)


def freeze_loaded_objects(what: str) -> None:
    """Collects, freezes what is left, and turns the collector on (a server may start with it off)."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    gc.enable()
    logger.info(
        "%s: garbage collection on, %d objects loaded at start-up kept out of it (%.0f ms)",
        what, gc.get_freeze_count(), (time.perf_counter() - started) * 1000,
    )
