"""The channels' limits: message length, rate per conversation and per address, the client's address."""

from __future__ import annotations

import pytest

from bot.channels.limits import (
    SLOW_DOWN,
    ChannelGuard,
    Limits,
    RateLimiter,
    client_address,
    parse_networks,
    say,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_defaults_and_settings_from_the_environment() -> None:
    assert Limits.from_environ({}) == Limits()
    limits = Limits.from_environ(
        {"RIS3_MAX_MESSAGE_CHARS": "500", "RIS3_RATE_CONVERSATION_BURST": "3", "RIS3_RATE_EXEMPT": ""}
    )
    assert (limits.max_message_chars, limits.conversation_burst, limits.exempt) == (500, 3, ())
    with pytest.raises(ValueError, match="RIS3_MAX_MESSAGE_CHARS"):
        Limits.from_environ({"RIS3_MAX_MESSAGE_CHARS": "lots"})
    with pytest.raises(ValueError, match="RIS3_RATE_ADDRESS_BURST"):
        Limits.from_environ({"RIS3_RATE_ADDRESS_BURST": "0"})


def test_a_conversation_gets_its_burst_then_its_rate() -> None:
    clock = Clock()
    guard = ChannelGuard(Limits(conversation_per_minute=30, conversation_burst=10), clock)
    assert [guard.wait_seconds("rest:a") for _ in range(10)] == [0] * 10
    assert guard.wait_seconds("rest:a") == 2  # one message every 2 s
    assert guard.wait_seconds("rest:b") == 0  # others are not held up
    clock.now += 2
    assert guard.wait_seconds("rest:a") == 0
    assert guard.wait_seconds("rest:a") >= 1


def test_an_address_is_limited_across_conversations_unless_exempt() -> None:
    clock = Clock()
    limits = Limits(address_per_minute=60, address_burst=5, exempt=parse_networks("127.0.0.0/8"))
    guard = ChannelGuard(limits, clock)
    assert [guard.wait_seconds(f"rest:{n}", "203.0.113.9") for n in range(5)] == [0] * 5
    assert guard.wait_seconds("rest:new", "203.0.113.9") == 1
    assert guard.wait_seconds("rest:new", "198.51.100.1") == 0
    assert all(guard.wait_seconds(f"rest:l{n}", "127.0.0.1") == 0 for n in range(50))


def test_a_refused_message_is_not_counted() -> None:
    clock = Clock()
    rates = RateLimiter(clock)
    rules = [("conversation:x", 60, 1), ("address:y", 60, 100)]
    assert rates.acquire(rules) == 0
    for _ in range(20):
        assert rates.acquire(rules) > 0  # the conversation is out; the address must not pay for it
    clock.now += 1
    assert rates.acquire(rules) == 0


def test_many_keys_cost_bounded_memory() -> None:
    rates = RateLimiter(Clock(), max_keys=100)
    for n in range(1000):
        rates.acquire([(f"conversation:{n}", 60, 1)])
    assert len(rates._buckets) == 100


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.9", None, "", "203.0.113.9"),
        ("203.0.113.9", "198.51.100.1", "", "203.0.113.9"),  # a client's own header is not believed
        ("10.0.0.2", "198.51.100.1", "10.0.0.0/8", "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.3", "10.0.0.0/8", "198.51.100.1"),  # spoofed first hop
        ("10.0.0.2", "garbage", "10.0.0.0/8", "10.0.0.2"),
        (None, None, "", "unknown"),
    ],
)
def test_the_client_address(peer: str | None, forwarded: str | None, trusted: str, expected: str) -> None:
    assert client_address(peer, forwarded, parse_networks(trusted)) == expected


def test_the_user_reads_the_reason_in_their_language() -> None:
    assert say(SLOW_DOWN, "fi", seconds=3).startswith("Lähetät") and "3 s" in say(SLOW_DOWN, "en", seconds=3)
    both = say(SLOW_DOWN, None, seconds=3)
    assert "Lähetät" in both and "You are sending" in both


def test_a_flood_is_told_to_slow_down_once_a_while() -> None:
    clock = Clock()
    guard = ChannelGuard(Limits(), clock)
    told = [guard.tell_to_slow_down("web:a", 10) for _ in range(100)]
    assert told.count(True) == 1 and guard.tell_to_slow_down("web:b", 10)
    clock.now += 10
    assert guard.tell_to_slow_down("web:a", 10)
