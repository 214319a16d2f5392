"""The framing of an HTTP/1.1 request stream, checked before a server's own parser reads it.

Our servers run HTTP stacks that are pinned old (Sanic 21.12 under Rasa 3.6; see docs/security.md): a request
with `Content-Length: -1` put Sanic 21.12's body reader in an endless loop that held the event loop, and with
it every user. Rather than mend each stack's parser, every byte a client sends passes through this check
first. It follows the request stream (heads, bodies by length or by chunks, pipelined requests) and lets a
byte through only once it is known to be well framed; the first thing that is not valid HTTP/1.1 framing
ends the connection with a 400 (RFC 9112 §6.3: a server that cannot tell where a message ends must close).

What it refuses: request lines other than `METHOD SP target SP HTTP/1.1|HTTP/1.0` (HTTP/0.9 and unknown
versions among them); header lines that are folded, nameless, hold NUL or another control character, or end
with a bare CR or a bare LF; lines over MAX_LINE bytes, heads over MAX_HEAD bytes, more than MAX_HEADERS
headers; a Content-Length that is not a plain decimal within MAX_CONTENT_LENGTH_DIGITS digits, or that comes
twice; Content-Length together with Transfer-Encoding; a Transfer-Encoding other than exactly `chunked` (or
any in HTTP/1.0); chunk sizes that are not hex, too long, or not followed by CRLF; chunk data not followed by
CRLF; trailers that break the header rules; an HTTP/1.1 request without exactly one Host.

Body sizes are not limited here (each server answers 413 from its own limit); timeouts for slow clients are
the servers' own. After a request that asks to upgrade the connection (the website chat's WebSocket), the
bytes are passed on unchecked once the server says it has switched protocols; until then they are read as
HTTP again.

Pure Python, no I/O: the servers' protocols (bot/http_framing/sanic_protocols.py, aiohttp_server.py) feed it.
Runs in both runtimes (Python 3.10 and 3.11).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_LINE = 8190  # the request line or one header line, as nginx's and Apache's defaults
MAX_HEAD = 65536  # the whole head, request line and headers
MAX_HEADERS = 100
MAX_CHUNK_LINE = 1024  # a chunk-size line with its extensions
MAX_CONTENT_LENGTH_DIGITS = 18  # below 2**63: no stack can overflow on it
MAX_CHUNK_SIZE_DIGITS = 15  # hex digits, below 2**60
MAX_LEADING_EMPTY_LINES = 4  # RFC 9112 §2.2: a server should ignore at least one CRLF before a request

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TARGET = re.compile(rb"[\x21-\x7e]+")
_VERSION = re.compile(rb"HTTP/1\.[01]")
# A field value: visible ASCII, spaces, tabs and obs-text (bytes 0x80-0xff); no control character.
_FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
_HEX = re.compile(rb"[0-9A-Fa-f]+")
_DIGITS = re.compile(rb"[0-9]+")


class FramingError(ValueError):
    """A request whose framing is not valid HTTP/1.1; the message says what, for the 400 and the log."""


class _State(enum.Enum):
    HEAD = "head"
    BODY = "body"
    CHUNK_SIZE = "chunk size"
    CHUNK_DATA = "chunk data"
    CHUNK_END = "chunk end"
    TRAILERS = "trailers"
    UPGRADE_PENDING = "upgrade pending"
    PASSTHROUGH = "passthrough"
    REFUSED = "refused"


@dataclass(frozen=True)
class Head:
    """What the check learnt from one request head."""

    method: bytes
    version: bytes
    content_length: int
    chunked: bool
    upgrade: bool


@dataclass
class Fed:
    """The result of feeding bytes: those that may go on to the server, then the error, if one followed."""

    accepted: bytes
    error: FramingError | None = None


class RequestFraming:
    """One connection's request stream. `feed` returns the bytes that are well framed so far.

    `switched` says whether the server has taken the connection over for another protocol (a WebSocket);
    it is asked only after a request that asked for an upgrade.
    """

    def __init__(self, switched: Callable[[], bool] = lambda: False) -> None:
        self._switched = switched
        self._state = _State.HEAD
        self._buffer = bytearray()  # a head, a chunk-size line or trailers not yet complete
        self._remaining = 0  # bytes left of a body or a chunk
        self._empty_lines = 0
        self._head_lines = 0  # complete lines in the head buffered so far
        self.requests = 0  # heads accepted, for the log

    @property
    def refused(self) -> bool:
        return self._state is _State.REFUSED

    def feed(self, data: bytes) -> Fed:
        if self._state is _State.PASSTHROUGH:
            return Fed(bytes(data))
        if self._state is _State.REFUSED:
            return Fed(b"")
        out = bytearray()
        view = memoryview(data)
        try:
            while view:
                view = self._step(view, out)
        except FramingError as exc:
            self._state = _State.REFUSED
            self._buffer.clear()
            return Fed(bytes(out), exc)
        return Fed(bytes(out))

    # One step of the state machine: consumes a prefix of `data`, appends what may pass to `out`, and returns
    # the rest. Each state either consumes something or waits for more (returns an empty view).
    def _step(self, data: memoryview, out: bytearray) -> memoryview:
        state = self._state
        if state is _State.UPGRADE_PENDING:
            if self._switched():
                self._state = _State.PASSTHROUGH
                out += data
                return data[len(data) :]
            self._state = _State.HEAD
            return data
        if state is _State.PASSTHROUGH:
            out += data
            return data[len(data) :]
        if state in (_State.BODY, _State.CHUNK_DATA):
            taken = min(self._remaining, len(data))
            out += data[:taken]
            self._remaining -= taken
            if self._remaining == 0:
                self._state = _State.HEAD if state is _State.BODY else _State.CHUNK_END
            return data[taken:]
        if state is _State.CHUNK_END:
            return self._chunk_end(data, out)
        if state is _State.CHUNK_SIZE:
            return self._chunk_size(data, out)
        if state is _State.TRAILERS:
            return self._trailers(data, out)
        return self._head(data, out)

    def _head(self, data: memoryview, out: bytearray) -> memoryview:
        if not self._buffer:
            # Empty lines before a request (a client's stray CRLF after a body) are ignored, not passed on.
            while len(data) >= 2 and data[:2] == b"\r\n":
                self._empty_lines += 1
                if self._empty_lines > MAX_LEADING_EMPTY_LINES:
                    raise FramingError("empty lines instead of a request")
                data = data[2:]
            if not data:
                return data
        start = len(self._buffer)
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n", max(0, start - 3))
        limit = len(self._buffer) if end < 0 else end + 2
        _check_line_endings(self._buffer, max(0, start - 1), limit)
        if end < 0:
            if len(self._buffer) > MAX_HEAD:
                raise FramingError(f"request head over {MAX_HEAD} bytes")
            self._check_partial_head(start)
            return data[len(data) :]
        head_bytes = bytes(self._buffer[: end + 4])
        if len(head_bytes) > MAX_HEAD:
            raise FramingError(f"request head over {MAX_HEAD} bytes")
        rest = len(self._buffer) - (end + 4)  # bytes of `data` after the head
        self._buffer.clear()
        self._empty_lines = 0
        self._head_lines = 0
        head = parse_head(head_bytes)
        self.requests += 1
        out += head_bytes
        if head.chunked:
            self._state = _State.CHUNK_SIZE
        elif head.content_length:
            self._state = _State.BODY
            self._remaining = head.content_length
        elif head.upgrade:
            self._state = _State.UPGRADE_PENDING
        else:
            self._state = _State.HEAD
        return data[len(data) - rest :]

    def _check_partial_head(self, start: int) -> None:
        """Refuses early what already can be: a bad request line, a line over the limit, too many headers.
        Looks only at the bytes just added, so a head sent a byte at a time costs no more than one."""
        buffer = self._buffer
        added_lines = buffer.count(b"\r\n", max(0, start - 1))
        if self._head_lines == 0 and added_lines:
            _request_line(bytes(buffer[: buffer.find(b"\r\n")]))
        self._head_lines += added_lines
        if self._head_lines - 1 > MAX_HEADERS:
            raise FramingError(f"more than {MAX_HEADERS} header fields")
        last_line = len(buffer) - (buffer.rfind(b"\r\n") + 2 if self._head_lines else 0)
        if last_line > MAX_LINE:
            raise FramingError(f"{'header' if self._head_lines else 'request'} line over {MAX_LINE} bytes")

    def _chunk_size(self, data: memoryview, out: bytearray) -> memoryview:
        line, rest = self._line(data, MAX_CHUNK_LINE, "chunk size line")
        if line is None:
            return rest
        size_part, _, extension = line.partition(b";")
        if not _HEX.fullmatch(size_part):
            raise FramingError("chunk size is not a hexadecimal number")
        if len(size_part.lstrip(b"0")) > MAX_CHUNK_SIZE_DIGITS:
            raise FramingError("chunk size too large")
        if extension and not _FIELD_VALUE.fullmatch(extension):
            raise FramingError("control character in a chunk extension")
        out += line + b"\r\n"
        size = int(size_part, 16)
        if size == 0:
            self._state = _State.TRAILERS
        else:
            self._state = _State.CHUNK_DATA
            self._remaining = size
        return rest

    def _chunk_end(self, data: memoryview, out: bytearray) -> memoryview:
        need = 2 - len(self._buffer)
        self._buffer += data[:need]
        rest = data[need:]
        if len(self._buffer) < 2:
            if self._buffer != b"\r"[: len(self._buffer)]:
                raise FramingError("chunk data not followed by CRLF")
            return rest
        if self._buffer != b"\r\n":
            raise FramingError("chunk data not followed by CRLF")
        self._buffer.clear()
        out += b"\r\n"
        self._state = _State.CHUNK_SIZE
        return rest

    def _trailers(self, data: memoryview, out: bytearray) -> memoryview:
        line, rest = self._line(data, MAX_LINE, "trailer line")
        if line is None:
            return rest
        out += line + b"\r\n"
        if not line:
            self._state = _State.HEAD
            self._remaining = 0
            return rest
        self._remaining += 1
        if self._remaining > MAX_HEADERS:
            raise FramingError(f"more than {MAX_HEADERS} trailer fields")
        _check_field_line(line)
        return rest

    def _line(self, data: memoryview, limit: int, what: str) -> tuple[bytes | None, memoryview]:
        """A CRLF-ended line (without the CRLF) once complete, and the bytes after it."""
        start = len(self._buffer)
        self._buffer += data
        end = self._buffer.find(b"\r\n", max(0, start - 1))
        stop = len(self._buffer) if end < 0 else end + 1
        _check_line_endings(self._buffer, max(0, start - 1), stop)
        if end < 0:
            if len(self._buffer) > limit:
                raise FramingError(f"{what} over {limit} bytes")
            return None, data[len(data) :]
        if end > limit:
            raise FramingError(f"{what} over {limit} bytes")
        line = bytes(self._buffer[:end])
        rest = len(self._buffer) - (end + 2)
        self._buffer.clear()
        return line, data[len(data) - rest :]


def _check_line_endings(buffer: bytearray, start: int, stop: int) -> None:
    """No bare LF and no CR that is not followed by LF in buffer[start:stop] (the last byte may be a CR that
    waits for its LF)."""
    lf = buffer.find(b"\n", start, stop)
    while lf >= 0:
        if lf == 0 or buffer[lf - 1] != 0x0D:
            raise FramingError("bare LF in the request head")
        lf = buffer.find(b"\n", lf + 1, stop)
    cr = buffer.find(b"\r", start, stop)
    while cr >= 0:
        if cr + 1 < len(buffer) and buffer[cr + 1] != 0x0A:
            raise FramingError("bare CR in the request head")
        cr = buffer.find(b"\r", cr + 1, stop)
    if b"\x00" in buffer[start:stop]:
        raise FramingError("NUL in the request head")



def _request_line(line: bytes) -> tuple[bytes, bytes]:
    if len(line) > MAX_LINE:
        raise FramingError(f"request line over {MAX_LINE} bytes")
    parts = line.split(b" ")
    if len(parts) == 2 or (len(parts) == 1 and line):
        raise FramingError("a request line without an HTTP version (HTTP/0.9 is not served)")
    if len(parts) != 3:
        raise FramingError("malformed request line")
    method, target, version = parts
    if not _TOKEN.fullmatch(method):
        raise FramingError("malformed request method")
    if not _TARGET.fullmatch(target):
        raise FramingError("malformed request target")
    if not _VERSION.fullmatch(version):
        raise FramingError("HTTP version not supported (only HTTP/1.1 and HTTP/1.0)")
    return method, version


def _check_field_line(line: bytes) -> tuple[bytes, bytes]:
    if len(line) > MAX_LINE:
        raise FramingError(f"header line over {MAX_LINE} bytes")
    if line[:1] in (b" ", b"\t"):
        raise FramingError("folded header line")
    name, colon, value = line.partition(b":")
    if not colon or not _TOKEN.fullmatch(name):
        raise FramingError("malformed header name")
    if not _FIELD_VALUE.fullmatch(value):
        raise FramingError("control character in a header value")
    return name.lower(), value.strip(b" \t")


def parse_head(head: bytes) -> Head:
    """A complete head (ending with the empty line) checked; the FramingError says what is wrong."""
    lines = head[:-4].split(b"\r\n")
    method, version = _request_line(lines[0])
    fields = lines[1:]
    if len(fields) > MAX_HEADERS:
        raise FramingError(f"more than {MAX_HEADERS} header fields")
    lengths: list[bytes] = []
    encodings: list[bytes] = []
    hosts = 0
    upgrade = False
    for line in fields:
        name, value = _check_field_line(line)
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            encodings.append(value)
        elif name == b"host":
            hosts += 1
        elif name == b"upgrade" and value:
            upgrade = True
    if version == b"HTTP/1.1" and hosts != 1:
        raise FramingError("an HTTP/1.1 request needs exactly one Host header")
    if hosts > 1:
        raise FramingError("more than one Host header")
    if encodings and lengths:
        raise FramingError("both Content-Length and Transfer-Encoding")
    chunked = False
    if encodings:
        if version != b"HTTP/1.1":
            raise FramingError("Transfer-Encoding in an HTTP/1.0 request")
        if len(encodings) > 1 or encodings[0].lower() != b"chunked":
            raise FramingError("Transfer-Encoding other than chunked")
        chunked = True
    content_length = 0
    if lengths:
        if len(lengths) > 1:
            raise FramingError("Content-Length given more than once")
        value = lengths[0]
        if not _DIGITS.fullmatch(value):
            raise FramingError("Content-Length is not a non-negative decimal number")
        if len(value) > MAX_CONTENT_LENGTH_DIGITS:
            raise FramingError("Content-Length too large")
        content_length = int(value)
    return Head(method, version, content_length, chunked, upgrade)


def refusal(error: FramingError) -> bytes:
    """The whole 400 response that ends a connection: JSON like the servers' other errors."""
    reason = str(error).replace("\\", "\\\\").replace('"', '\\"')
    body = f'{{"error": "bad request framing", "reason": "{reason}"}}'.encode()
    return (
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
