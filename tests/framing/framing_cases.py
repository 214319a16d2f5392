"""Requests whose framing is not valid HTTP/1.1, each a stranger's bytes: shared by the unit test of the check
and the test against the running servers (test_http_framing_servers.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str
    raw: bytes


def post(headers: str, body: bytes = b"{}", target: str = "/webhooks/rest/webhook") -> bytes:
    return f"POST {target} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode() + body


CHUNKED = "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"

BAD: tuple[Case, ...] = (
    Case("negative Content-Length", post("Content-Length: -1\r\n")),
    Case("non-numeric Content-Length", post("Content-Length: abc\r\n")),
    Case("signed Content-Length", post("Content-Length: +2\r\n")),
    Case("overflowing Content-Length", post("Content-Length: 99999999999999999999999\r\n")),
    Case("repeated Content-Length", post("Content-Length: 2\r\nContent-Length: 2\r\n")),
    Case("conflicting Content-Length", post("Content-Length: 2\r\nContent-Length: 5\r\n")),
    Case("Content-Length list", post("Content-Length: 2, 2\r\n")),
    Case("Content-Length and Transfer-Encoding", post("Content-Length: 2\r\nTransfer-Encoding: chunked\r\n")),
    Case("Transfer-Encoding gzip", post("Transfer-Encoding: gzip\r\n", b"")),
    Case("Transfer-Encoding gzip, chunked", post("Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n")),
    Case(
        "Transfer-Encoding twice",
        post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
    ),
    Case("Transfer-Encoding in HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    Case("negative chunk size", post(CHUNKED, b"-1\r\n{}\r\n0\r\n\r\n")),
    Case("non-hex chunk size", post(CHUNKED, b"zz\r\n{}\r\n0\r\n\r\n")),
    Case("overflowing chunk size", post(CHUNKED, b"fffffffffffffffffff\r\n{}\r\n0\r\n\r\n")),
    Case("chunk size without CRLF", post(CHUNKED, b"2\n{}\r\n0\r\n\r\n")),
    Case("chunk data without CRLF", post(CHUNKED, b"2\r\n{}XX0\r\n\r\n")),
    Case("chunk size with spaces", post(CHUNKED, b"2 2\r\n{}\r\n0\r\n\r\n")),
    Case("request line over 8 KiB", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
    Case("header line over 8 KiB", b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n"),
    Case(
        "too many headers",
        b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n",
    ),
    Case("NUL in a header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"),
    Case("bare CR in a header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"),
    Case("bare LF line ends", b"GET / HTTP/1.1\nHost: x\n\n"),
    Case("control character in a header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x07b\r\n\r\n"),
    Case("folded header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"),
    Case("space before the colon", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\n{}"),
    Case("header without a colon", b"GET / HTTP/1.1\r\nHost: x\r\nNonsense\r\n\r\n"),
    Case("HTTP/0.9", b"GET /\r\n\r\n"),
    Case("HTTP/2.0 in a request line", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"),
    Case("HTTP/1.2", b"GET / HTTP/1.2\r\nHost: x\r\n\r\n"),
    Case("unknown protocol", b"GET / FOO/1.1\r\nHost: x\r\n\r\n"),
    Case("lower-case version", b"GET / http/1.1\r\nHost: x\r\n\r\n"),
    Case("two spaces in the request line", b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n"),
    Case("missing Host", b"GET / HTTP/1.1\r\n\r\n"),
    Case("two Host headers", b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"),
    Case("binary garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\r\n\r\n"),
)

# A valid request, to send before a bad one on the same connection (pipelined).
VALID_GET = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
