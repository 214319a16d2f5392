"""Password guessing: failed sign-ins locked out per address and per user name before any hashing, with
a growing but capped lockout, and argon2 checks that can neither pile up nor hold up the signed-in API."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from ipaddress import ip_network
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from web_helpers import PASSWORD, USER, Backoffice, StartBackoffice

from bot.handoff.store import HandoffStore
from bot.web.client_address import address_key, client_address
from bot.web.config import WebSettings
from bot.web.keys import ACCOUNT, PASSWORD_CHECKS, SETTINGS, SIGN_IN_LIMITS
from bot.web.passwords import ManagerAccount
from bot.web.sign_in_limits import SignInLimits, TooManyAttempts

WRONG = PASSWORD + "-wrong"
# Far longer than anything takes that is not stuck: a request still waiting then is queued behind hashing.
STUCK_SECONDS = 20


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingAccount(ManagerAccount):
    """The manager's account, counting its argon2 verifications; each waits until the gate is open."""

    def __init__(self, user: str, password_hash: str, gate: threading.Event) -> None:
        super().__init__(user, password_hash)
        self.gate = gate
        self._lock = threading.Lock()
        self.checks = 0

    def check(self, user: str, password: str) -> bool:
        with self._lock:
            self.checks += 1
        if not self.gate.wait(STUCK_SECONDS):
            raise TimeoutError("the test never opened the gate")
        return super().check(user, password)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    event.set()
    yield event
    event.set()  # a failed test must not leave a check thread waiting


Started = tuple[Backoffice, CountingAccount]
Start = Callable[..., Awaitable[Started]]


@pytest.fixture
def start(
    start_backoffice: StartBackoffice,
    web_settings: WebSettings,
    password_hash: str,
    clock: FakeClock,
    gate: threading.Event,
    store: HandoffStore,
) -> Start:
    """Starts the back office with the given settings changed, a counting account and the fake clock."""

    async def start_with(**changes: Any) -> Started:
        account = CountingAccount(USER, password_hash, gate)

        def prepare(app: web.Application) -> None:
            app[ACCOUNT] = account
            app[SIGN_IN_LIMITS] = SignInLimits(app[SETTINGS], clock)

        backoffice = await start_backoffice(web_settings.model_copy(update=changes), prepare=prepare)
        return backoffice, account

    return start_with


async def statuses(responses: list[aiohttp.ClientResponse]) -> Counter[int]:
    for response in responses:
        await response.read()
    return Counter(response.status for response in responses)


@pytest.mark.asyncio
async def test_parallel_wrong_passwords_are_refused_after_the_limit_without_hashing(
    start: Start, clock: FakeClock
) -> None:
    backoffice, account = await start()
    token = await backoffice.login_token()
    responses = await asyncio.gather(*(backoffice.post_sign_in(token, password=WRONG) for _ in range(30)))

    # Five (the limit per address) reach argon2; the other twenty-five are refused before it.
    assert await statuses(responses) == {401: 5, 429: 25}
    assert account.checks == 5
    refused = next(response for response in responses if response.status == 429)
    assert "Too many attempts; try again in 1 minute." in await refused.text()
    assert int(refused.headers["Retry-After"]) > 0

    # While locked, even the right password is refused, unchecked.
    locked = await backoffice.post_sign_in(token)
    assert locked.status == 429
    assert account.checks == 5

    # After the lockout (a minute the first time) the right password works.
    clock.advance(61)
    assert (await backoffice.post_sign_in(token)).status == 303
    assert account.checks == 6


@pytest.mark.asyncio
async def test_a_successful_sign_in_clears_the_address_record(start: Start) -> None:
    backoffice, account = await start()
    token = await backoffice.login_token()
    for _ in range(4):
        assert (await backoffice.post_sign_in(token, password=WRONG)).status == 401
    assert (await backoffice.post_sign_in(token)).status == 303

    backoffice.client.session.cookie_jar.clear()  # a browser signed out
    token = await backoffice.login_token()
    # Four more failures from the same address: without the clearing, the fifth of nine would lock it.
    for _ in range(4):
        assert (await backoffice.post_sign_in(token, password=WRONG)).status == 401
    assert account.checks == 9


@pytest.mark.asyncio
async def test_the_account_is_locked_from_many_addresses_but_only_for_a_while(start: Start, clock: FakeClock) -> None:
    # Room for every check at once: here the limits are under test, not the checks' bounds.
    backoffice, account = await start(trusted_proxies=[ip_network("127.0.0.1/32")], password_check_queue=20)
    token = await backoffice.login_token()

    def via(address: str) -> dict[str, str]:
        return {"X-Forwarded-For": f"{address}, 127.0.0.1"}

    # Four addresses behind the proxy, five guesses each: the account's limit (10) stops them first.
    guesses = [
        backoffice.post_sign_in(token, password=WRONG, headers=via(f"198.51.100.{n}"))
        for n in range(1, 5)
        for _ in range(5)
    ]
    assert await statuses(await asyncio.gather(*guesses)) == {401: 10, 429: 10}
    assert account.checks == 10

    # The manager's name is locked from everywhere; another name from a new address is not.
    assert (await backoffice.post_sign_in(token, headers=via("203.0.113.9"))).status == 429
    assert (await backoffice.post_sign_in(token, user="someone", headers=via("203.0.113.9"))).status == 401
    assert account.checks == 11

    clock.advance(61)
    assert (await backoffice.post_sign_in(token, headers=via("203.0.113.10"))).status == 303


@pytest.mark.asyncio
async def test_forwarded_addresses_count_only_behind_a_trusted_proxy(start: Start) -> None:
    backoffice, account = await start()  # no trusted proxy: X-Forwarded-For is the client's to make up
    token = await backoffice.login_token()
    guesses = [
        backoffice.post_sign_in(token, password=WRONG, headers={"X-Forwarded-For": f"198.51.100.{n}"})
        for n in range(1, 11)
    ]
    assert await statuses(await asyncio.gather(*guesses)) == {401: 5, 429: 5}
    assert account.checks == 5


@pytest.mark.asyncio
async def test_sign_ins_beyond_the_queue_are_turned_away_and_the_api_is_not_held_up(
    start: Start, gate: threading.Event
) -> None:
    # Limits high enough that only the checks' own bounds apply: 2 running and 4 waiting.
    backoffice, account = await start(
        login_max_failures_per_address=100,
        login_max_failures_per_account=100,
        password_check_concurrency=2,
        password_check_queue=4,
    )
    assert (await backoffice.sign_in()).status == 303
    token = await backoffice.api_token()  # the session's CSRF token, which the sign-in form takes too
    checks = backoffice.client.server.app[PASSWORD_CHECKS]
    before = account.checks

    gate.clear()  # from here on every check hangs until the gate opens
    try:
        hanging = [asyncio.create_task(backoffice.post_sign_in(token, password=WRONG)) for _ in range(6)]
        for _ in range(STUCK_SECONDS * 100):
            if checks.taken == 6 and account.checks == before + 2:
                break
            await asyncio.sleep(0.01)
        # Two verifying, four waiting their turn.
        assert (checks.taken, account.checks - before) == (6, 2), "the sign-ins did not reach the checks"

        # The seventh is turned away at once, not queued behind the six.
        busy = await asyncio.wait_for(backoffice.post_sign_in(token, password=WRONG), STUCK_SECONDS)
        assert busy.status == 503
        assert "Too many sign-ins at once" in await busy.text()
        assert busy.headers["Retry-After"] == "2"
        assert account.checks == before + 2

        # The signed-in manager's API does not wait for the hashing: its database calls have threads free.
        tickets = await asyncio.wait_for(backoffice.client.get("/api/tickets"), STUCK_SECONDS)
        assert tickets.status == 200
        assert (await tickets.json()) == {"tickets": []}
    finally:
        gate.set()
    assert await statuses(list(await asyncio.gather(*hanging))) == {401: 6}
    assert account.checks == before + 6
    assert checks.taken == 0


def test_the_lockout_doubles_up_to_its_cap_and_starts_again_after_a_quiet_window() -> None:
    clock = FakeClock()
    settings = WebSettings(
        _env_file=None,  # type: ignore[call-arg]
        login_max_failures_per_address=3,
        login_max_failures_per_account=1000,
        login_failure_window_seconds=900,
        login_lockout_seconds=60,
        login_lockout_max_seconds=900,
    )
    limits = SignInLimits(settings, clock)

    def lockout_after_three_failures() -> float:
        for _ in range(3):
            with limits.attempt("192.0.2.1", "someone"):
                pass  # neither succeeded() nor abandoned(): a failure
        with pytest.raises(TooManyAttempts) as refused:
            limits.attempt("192.0.2.1", "someone")
        return refused.value.retry_after

    seen = []
    for _ in range(6):
        seen.append(lockout_after_three_failures())
        clock.advance(seen[-1])
    assert seen == [60, 120, 240, 480, 900, 900]

    clock.advance(901)  # a quiet window: the next lockout is the first one again
    assert lockout_after_three_failures() == 60

    # An address locked out does not lock out another, and the refusal said when to come back.
    with limits.attempt("192.0.2.2", "someone-else") as attempt:
        attempt.succeeded()
    assert TooManyAttempts(61).minutes == 2 and TooManyAttempts(5).minutes == 1


def test_an_attempt_that_was_never_checked_does_not_count() -> None:
    settings = WebSettings(_env_file=None, login_max_failures_per_address=1)  # type: ignore[call-arg]
    limits = SignInLimits(settings, FakeClock())
    for _ in range(3):
        with limits.attempt("192.0.2.1", USER) as attempt:
            attempt.abandoned()
    with limits.attempt("192.0.2.1", USER):
        pass
    with pytest.raises(TooManyAttempts):
        limits.attempt("192.0.2.1", USER)


def _request(remote: str, forwarded: str | None = None) -> web.Request:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    request = make_mocked_request("POST", "/inbox/login", headers=headers)
    return request.clone(remote=remote)


def test_the_client_address_believes_only_trusted_proxies() -> None:
    settings = WebSettings(_env_file=None, trusted_proxies="10.0.0.0/8, ::1")  # type: ignore[call-arg]
    proxies = settings.trusted_proxies
    # Not from a proxy: the peer itself, whatever the header says.
    assert client_address(_request("198.51.100.7", "203.0.113.1"), proxies) == "198.51.100.7"
    # From a proxy: the rightmost hop that is not a proxy; what the client wrote to its left is ignored.
    assert client_address(_request("10.0.0.2", "1.2.3.4, 203.0.113.1, 10.0.0.3"), proxies) == "203.0.113.1"
    assert client_address(_request("::1", "2001:db8::5"), proxies) == "2001:db8::5"
    # No usable header: the proxy's own address, counted as one client.
    assert client_address(_request("10.0.0.2"), proxies) == "10.0.0.2"
    assert client_address(_request("10.0.0.2", "not-an-address"), proxies) == "10.0.0.2"
    # No proxy configured: never the header.
    assert client_address(_request("10.0.0.2", "203.0.113.1"), []) == "10.0.0.2"


def test_ipv6_clients_are_counted_by_their_slash_64() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("192.0.2.1") == "192.0.2.1"


def test_bad_proxy_settings_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="not an IP address or network"):
        WebSettings(_env_file=None, trusted_proxies="proxy.example")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="must not be shorter"):
        WebSettings(_env_file=None, login_lockout_seconds=600, login_lockout_max_seconds=60)  # type: ignore[call-arg]
