"""What one client may send: the size of a request and of a message, and how many messages per minute.

A 1 MB message took the Rasa server 7 s and slowed everyone else; 10 MB stalled it for ~40 s and took it from
0.7 to 4.5 GB; 120 messages at once on one socket queued behind the conversation's lock until Rasa gave up
with LockErrors. Every channel therefore checks, before any processing:

- the request body (RIS3_MAX_REQUEST_BYTES, default 64 KiB; Sanic refuses a larger body with 413 before
  reading it, for every route of the Rasa server),
- the message's length (RIS3_MAX_MESSAGE_CHARS, default 2000 characters),
- a token bucket per conversation (RIS3_RATE_CONVERSATION_PER_MINUTE, default 30, bursts of
  RIS3_RATE_CONVERSATION_BURST, default 10) and per client address (RIS3_RATE_ADDRESS_PER_MINUTE, default
  300, bursts of RIS3_RATE_ADDRESS_BURST, default 60). Addresses in RIS3_RATE_EXEMPT (default loopback: the
  FAQ suite and curl on the machine itself) have no address limit; conversations always have theirs. Behind
  a proxy, RIS3_TRUSTED_PROXIES names it, and the address is the hop before it in X-Forwarded-For.

The buckets live in the process: with several Rasa servers each enforces its own (docs/security.md).

Standard library only: imported by the Rasa server (Python 3.10) and by tests in the action runtime.
"""

from __future__ import annotations

import ipaddress
import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}")
    return value


def parse_networks(value: str | Iterable[str] | None) -> tuple[IPNetwork, ...]:
    """"127.0.0.0/8, ::1" -> networks; a bare address is a network of one."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


@dataclass(frozen=True)
class Limits:
    max_request_bytes: int = 64 * 1024
    max_message_chars: int = 2000
    conversation_per_minute: int = 30
    conversation_burst: int = 10
    address_per_minute: int = 300
    address_burst: int = 60
    exempt: tuple[IPNetwork, ...] = field(default_factory=lambda: parse_networks("127.0.0.0/8, ::1"))
    trusted_proxies: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Limits:
        exempt = environ.get("RIS3_RATE_EXEMPT")
        return cls(
            max_request_bytes=_int(environ, "RIS3_MAX_REQUEST_BYTES", cls.max_request_bytes, minimum=1024),
            max_message_chars=_int(environ, "RIS3_MAX_MESSAGE_CHARS", cls.max_message_chars),
            conversation_per_minute=_int(environ, "RIS3_RATE_CONVERSATION_PER_MINUTE", cls.conversation_per_minute),
            conversation_burst=_int(environ, "RIS3_RATE_CONVERSATION_BURST", cls.conversation_burst),
            address_per_minute=_int(environ, "RIS3_RATE_ADDRESS_PER_MINUTE", cls.address_per_minute),
            address_burst=_int(environ, "RIS3_RATE_ADDRESS_BURST", cls.address_burst),
            exempt=parse_networks("127.0.0.0/8, ::1" if exempt is None else exempt),
            trusted_proxies=parse_networks(environ.get("RIS3_TRUSTED_PROXIES")),
        )

    def exempt_address(self, address: str | None) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self.exempt)


def _ip(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None


def client_address(peer: str | None, forwarded_for: str | None, trusted: Iterable[IPNetwork]) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy, the rightmost X-Forwarded-For
    hop that is not one (each proxy appends the address it saw; only our own proxies' entries can be
    believed). A hop that is not an address ends the search at the peer. Used by the back office too."""
    trusted = tuple(trusted)

    def is_trusted(address: str | None) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in network for network in trusted)

    address = (peer or "").strip()
    if not is_trusted(address) or not forwarded_for:
        return address or "unknown"
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        ip = _ip(hop)
        if ip is None:
            break  # a trusted proxy writes addresses: anything else means the chain cannot be read further
        if not is_trusted(hop):
            return str(ip)
    return address


class RateLimiter:
    """Token buckets by key ("conversation:…", "address:…"): a key holds up to `burst` messages and earns
    `per_minute` a minute. Idle keys are forgotten, oldest first, beyond `max_keys`, so a flood of new keys
    costs bounded memory (a forgotten key starts with a full bucket, which is what it would have by then)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, updated)

    def _tokens(self, key: str, per_minute: int, burst: int, now: float) -> float:
        tokens, updated = self._buckets.get(key, (float(burst), now))
        return min(float(burst), tokens + (now - updated) * per_minute / 60.0)

    def acquire(self, rules: Iterable[tuple[str, int, int]]) -> float:
        """One message against every (key, per_minute, burst) rule: 0.0 when all allow it (and it is
        counted in each), else the seconds to wait before one would (and nothing is counted)."""
        now = self._clock()
        rules = list(rules)
        levels = [(key, per_minute, self._tokens(key, per_minute, burst, now)) for key, per_minute, burst in rules]
        short = [(1.0 - tokens) * 60.0 / per_minute for _, per_minute, tokens in levels if tokens < 1.0]
        wait = max(short, default=0.0)
        if wait > 0:
            return wait
        for key, _, tokens in levels:
            self._buckets[key] = (tokens - 1.0, now)
            self._buckets.move_to_end(key)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return 0.0


class ChannelGuard:
    """The limits as a channel applies them to one message."""

    def __init__(self, limits: Limits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or Limits.from_environ()
        self.rates = RateLimiter(clock)
        self._clock = clock
        self._told: OrderedDict[str, float] = OrderedDict()  # conversation -> when it was told to slow down

    def tell_to_slow_down(self, conversation: str, every_seconds: float) -> bool:
        """Whether to send the slow-down reply now: a flood of 100 messages gets one, not 100."""
        now = self._clock()
        last = self._told.get(conversation)
        if last is not None and now - last < every_seconds:
            return False
        self._told[conversation] = now
        self._told.move_to_end(conversation)
        while len(self._told) > 10_000:
            self._told.popitem(last=False)
        return True

    def too_long(self, text: str) -> bool:
        return len(text) > self.limits.max_message_chars

    def wait_seconds(self, conversation: str, address: str | None = None) -> int:
        """0 when the message may go on; else whole seconds to wait (at least 1)."""
        rules = [(f"conversation:{conversation}", self.limits.conversation_per_minute, self.limits.conversation_burst)]
        if address and not self.limits.exempt_address(address):
            rules.append((f"address:{address}", self.limits.address_per_minute, self.limits.address_burst))
        wait = self.rates.acquire(rules)
        return 0 if wait <= 0 else max(1, math.ceil(wait))


# What the user reads. Not facts about the strategy: the channel's own words, like the apology in unanswered.py.
SLOW_DOWN = {
    "en": "You are sending messages faster than I can answer. Please wait {seconds} s and send your message again.",
    "fi": "Lähetät viestejä nopeammin kuin ehdin vastata. Odota {seconds} s ja lähetä viestisi uudelleen.",
}
TOO_LONG = {
    "en": "Your message is too long: I can read at most {limit} characters. Please shorten it or split it up.",
    "fi": "Viestisi on liian pitkä: luen enintään {limit} merkkiä. Lyhennä viestiä tai jaa se osiin.",
}


def say(template: Mapping[str, str], language: str | None, **values: object) -> str:
    """In the user's language; in both (Finnish first) when it is not known."""
    languages = [language] if language in template else ["fi", "en"]
    return "\n\n".join(template[lang].format(**values) for lang in languages)
