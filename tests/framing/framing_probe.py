"""Sending a stranger's bytes to a server over a raw socket and telling what came back: a status line, a
closed connection, or nothing within the wait. Used by the framing tests and bench/http_framing_table.py."""

from __future__ import annotations

import contextlib
import re
import socket
import time
from dataclasses import dataclass

_STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3})")
_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:\s*(\d+)")


@dataclass(frozen=True)
class Outcome:
    statuses: tuple[int, ...]  # the status codes of the responses read, in order
    closed: bool  # the server closed (or reset) the connection
    seconds: float
    received: bytes = b""

    @property
    def refused(self) -> bool:
        """The last thing the server did was a 4xx, or it closed the connection."""
        return self.closed or (bool(self.statuses) and 400 <= self.statuses[-1] < 500)

    def describe(self) -> str:
        said = "/".join(str(s) for s in self.statuses) or "nothing"
        return f"{said}, {'closed' if self.closed else 'left open'} ({self.seconds:.2f} s)"


def _statuses(data: bytes) -> tuple[int, ...]:
    """The status codes of the responses in `data`, each response skipped by its Content-Length."""
    found: list[int] = []
    position = 0
    while True:
        match = _STATUS_LINE.search(data, position)
        if match is None:
            return tuple(found)
        found.append(int(match.group(1)))
        head_end = data.find(b"\r\n\r\n", match.end())
        if head_end < 0:
            return tuple(found)
        length = _CONTENT_LENGTH.search(data, match.end(), head_end)
        position = head_end + 4 + (int(length.group(1)) if length else 0)


def send_raw(host: str, port: int, raw: bytes, wait: float = 2.0) -> Outcome:
    """Sends `raw` at once and reads until the server closes or `wait` seconds pass."""
    started = time.monotonic()
    received = b""
    closed = False
    with socket.create_connection((host, port), timeout=wait) as sock:
        try:
            sock.sendall(raw)
        except OSError:  # the server may close while a long request is still being sent
            closed = True
        deadline = started + wait
        while not closed:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += chunk
    return Outcome(_statuses(received), closed, time.monotonic() - started, received)


def drip(
    host: str, port: int, head: bytes, body: bytes, pause: float, piece: int, leave_after: int | None = None
) -> None:
    """A slow client: the head, then the body `piece` bytes at a time with `pause` between; with
    `leave_after`, it closes the connection after that many pieces, mid-body."""
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head)
        for n, i in enumerate(range(0, len(body), piece)):
            if leave_after is not None and n >= leave_after:
                return
            try:
                sock.sendall(body[i : i + piece])
            except OSError:
                return
            time.sleep(pause)
        sock.settimeout(10)
        with contextlib.suppress(OSError):
            sock.recv(65536)
