"""The framing check on its own: what it lets through, byte for byte, and what it refuses."""

from __future__ import annotations

import pytest

from bot.http_framing.check import FramingError, RequestFraming, parse_head, refusal
from tests.framing.framing_cases import BAD, CHUNKED, VALID_GET, post

GOOD = (
    VALID_GET,
    post("Content-Type: application/json\r\nContent-Length: 2\r\n"),
    post(CHUNKED, b"2;name=value\r\n{}\r\n0\r\nX-Trailer: 1\r\n\r\n"),
    post(CHUNKED, b"0002\r\n{}\r\n0\r\n\r\n"),
    b"GET / HTTP/1.0\r\n\r\n",
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    b"POST /x HTTP/1.1\r\nHost: x\r\nX-Name: \xc3\xa4\xc3\xb6 obs-text\tand tab\r\nContent-Length: 4\r\n\r\n"
    b"\x00\r\n\xff",
)


def feed_all(framing: RequestFraming, data: bytes, step: int | None = None) -> tuple[bytes, FramingError | None]:
    accepted = b""
    for i in range(0, len(data), step or len(data) or 1):
        fed = framing.feed(data[i : i + (step or len(data))])
        accepted += fed.accepted
        if fed.error:
            return accepted, fed.error
    return accepted, None


@pytest.mark.parametrize("raw", GOOD)
@pytest.mark.parametrize("step", [None, 1, 7])
def test_valid_requests_pass_unchanged_whole_or_a_byte_at_a_time(raw: bytes, step: int | None) -> None:
    accepted, error = feed_all(RequestFraming(), raw, step)
    assert error is None
    assert accepted == raw


def test_pipelined_valid_requests_pass_and_stray_line_breaks_are_dropped() -> None:
    stream = b"".join(GOOD[:4]) + b"\r\n" + VALID_GET
    framing = RequestFraming()
    accepted, error = feed_all(framing, stream, 5)
    assert error is None
    assert accepted == stream.replace(b"\r\n" + VALID_GET, VALID_GET)[: len(accepted)]
    assert framing.requests == 5


@pytest.mark.parametrize("case", BAD, ids=lambda c: c.name)
@pytest.mark.parametrize("step", [None, 1])
def test_bad_framing_is_refused(case, step: int | None) -> None:  # type: ignore[no-untyped-def]
    framing = RequestFraming()
    accepted, error = feed_all(framing, case.raw, step)
    assert error is not None, case.name
    assert framing.refused
    assert framing.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").accepted == b""
    # Nothing of a bad head reaches the server; of a bad chunked body, only what came before the bad part.
    head_end = case.raw.find(b"\r\n\r\n")
    if b"chunked" not in case.raw[:head_end] or b"Content-Length" in case.raw[:head_end]:
        assert accepted == b""


@pytest.mark.parametrize("case", BAD, ids=lambda c: c.name)
def test_a_bad_request_behind_a_valid_one_lets_the_valid_one_through(case) -> None:  # type: ignore[no-untyped-def]
    accepted, error = feed_all(RequestFraming(), VALID_GET + case.raw)
    assert error is not None
    assert accepted.startswith(VALID_GET)


def test_after_an_upgrade_bytes_pass_unchecked_only_once_the_server_switched() -> None:
    upgrade = GOOD[5]
    frame = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"  # a masked WebSocket text frame
    switched = RequestFraming(switched=lambda: True)
    assert feed_all(switched, upgrade + frame, 4) == (upgrade + frame, None)
    # Not switched (the server refused the upgrade): the frame is read as HTTP again and goes nowhere.
    unswitched = RequestFraming(switched=lambda: False)
    accepted, error = feed_all(unswitched, upgrade + frame)
    assert accepted == upgrade and error is None
    accepted, error = feed_all(unswitched, b"\r\n")
    assert accepted == b"" and error is not None


def test_content_length_is_parsed_and_limits_hold() -> None:
    head = parse_head(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0012\r\n\r\n")
    assert head.content_length == 12 and not head.chunked
    assert parse_head(post(CHUNKED, b"").split(b"\r\n\r\n")[0] + b"\r\n\r\n").chunked


def test_a_head_dripped_a_byte_at_a_time_is_held_back_until_complete() -> None:
    head = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\n" * 90
    framing = RequestFraming()
    for byte in head:
        fed = framing.feed(bytes([byte]))
        assert fed.error is None and fed.accepted == b""
    assert framing.feed(b"\r\n").accepted == head + b"\r\n"


def test_the_refusal_is_a_complete_400_that_closes() -> None:
    response = refusal(FramingError('bad "quote"'))
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close" in head
    assert f"Content-Length: {len(body)}".encode() in head
    assert b'bad \\"quote\\"' in body
