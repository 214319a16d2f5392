"""Handing freed memory back to the operating system.

glibc's malloc keeps the pages of freed small and medium blocks in the process for reuse; after a burst of work
(the Review grouping: thousands of token lists, vectors and a distance matrix) the resident size would stay at the
burst's peak. malloc_trim(0) returns what is free. Elsewhere (musl, macOS) there is nothing to call: a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

logger = logging.getLogger(__name__)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def release_free_memory() -> bool:
    """True when the C library was asked to return free memory (glibc), False where it cannot be."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
