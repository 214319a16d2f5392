"""The ticket page after Send (issue 25, item 3): each route's state changes by itself from "waiting to be sent"
to delivered or failed, without a reload. Headless Chromium signed in to the back office; the website chat's
push goes to a loopback stand-in of the Rasa server's push endpoint that holds its answer until the test
releases it, so the page is seen waiting first."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from widget_helpers import TIMEOUT, ServedApp, chromium_browser, wait_until

from bot.channels.backoffice_link import PUSH_PATH
from bot.handoff.draft import TicketDraft
from bot.handoff.store import HandoffStore, upgrade
from bot.web.passwords import hash_password
from tests.samples import handoff_draft_values

USER, PASSWORD = "projektipaallikko", "a long test passphrase 7"
PUSH_TOKEN = "push-token-for-this-test"


class PushStandIn:
    """The Rasa server's push endpoint: each push waits for release(), then gets the answer set for it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.status = 200
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                authorised = self.headers.get("Authorization") == f"Bearer {PUSH_TOKEN}"
                if self.path == PUSH_PATH and authorised:
                    outer.received.append(json.loads(body))
                outer.release.wait(30)
                answer = json.dumps({"delivered": True}).encode()
                self.send_response(outer.status if authorised else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def push() -> Iterator[PushStandIn]:
    standin = PushStandIn()
    yield standin
    standin.close()


@pytest.fixture(scope="module")
def backoffice(tmp_path_factory: pytest.TempPathFactory, push: PushStandIn) -> Iterator[ServedApp]:
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("RIS3_PUSH_TOKEN", PUSH_TOKEN)
    app = ServedApp(tmp_path_factory.mktemp("ticket-live"))
    app.settings = app.settings.model_copy(
        update={
            "manager_user": USER,
            "manager_password_hash": SecretStr(hash_password(PASSWORD)),
            "outbox_interval_seconds": 0.2,
        }
    )
    # One attempt: a refused push is "failed" at once rather than retried in 30 s.
    app.handoff = app.handoff.model_copy(update={"rasa_url": push.url, "max_attempts": 1})
    upgrade(app.handoff.database_url)
    app.start()
    try:
        yield app
    finally:
        app.stop()
        monkeypatch.undo()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium_browser()


@pytest.fixture
def manager(browser: Any, backoffice: ServedApp) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=backoffice.url)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    page.goto("/inbox/login")
    page.fill("input[name=user]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_url("**/inbox*")
    yield page
    context.close()


def web_ticket(backoffice: ServedApp) -> str:
    store = HandoffStore(backoffice.handoff.database_url)
    try:
        draft = TicketDraft(**handoff_draft_values(channel="web", conversation_id="web:live-page-test"))
        return store.create_ticket(draft, []).reference
    finally:
        store.close()


def reply(page: Any, reference: str, text: str) -> Any:
    page.goto(f"/inbox/tickets/{reference}")
    page.fill("#reply-text", text)
    page.click("form.reply button[type=submit]")
    page.wait_for_url(f"**/inbox/tickets/{reference}*")
    return page.locator("ol.thread li.kind-manager_reply").last.locator(".deliveries li")


@pytest.mark.parametrize(("status", "shown"), [(200, "website chat: delivered"), (500, "website chat: failed")])
def test_the_reply_state_updates_by_itself(
    manager: Any, backoffice: ServedApp, push: PushStandIn, status: int, shown: str
) -> None:
    push.release.clear()
    push.status = status
    reference = web_ticket(backoffice)
    route = reply(manager, reference, f"Hello, a reply that gets {status}.")
    # The push is on its way and held: the page shows it waiting.
    assert route.inner_text() == "website chat: waiting to be sent"
    navigations: list[str] = []
    manager.on("framenavigated", lambda frame: navigations.append(frame.url))
    push.release.set()
    wait_until(manager, f"document.querySelector('ol.thread li.kind-manager_reply:last-child .deliveries li')"
                        f".textContent.startsWith({json.dumps(shown)})")
    assert navigations == []  # no reload
    assert push.received[-1]["reference"] == reference
    path = Path(__file__).resolve().parents[2] / "reports" / "widget"
    path.mkdir(parents=True, exist_ok=True)
    manager.screenshot(path=str(path / f"ticket-live-{status}.png"))


def test_the_states_endpoint_needs_sign_in_and_a_ticket(browser: Any, backoffice: ServedApp, manager: Any) -> None:
    reference = web_ticket(backoffice)
    answer = manager.request.get(f"/inbox/tickets/{reference}/deliveries")
    assert answer.status == 200 and answer.json()["settled"] is True
    assert manager.request.get("/inbox/tickets/RIS3-ZZZZ/deliveries").status == 404
    stranger = browser.new_context(base_url=backoffice.url)
    try:
        refused = stranger.request.get(f"/inbox/tickets/{reference}/deliveries", max_redirects=0)
        assert refused.status in (302, 303, 401), refused.status
    finally:
        stranger.close()
