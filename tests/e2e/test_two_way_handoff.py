"""End to end: the project manager answers in the conversation, against the real Rasa server, action server
and back office (`bot web`), a local SMTP server and the Telegram Bot API stand-in.

REST: the handoff over the form, the expectation sentence, the manager's reply from the API arriving with
the answer to the user's next message and once by e-mail, the user's addition in the thread, the outbox
surviving a restart of the back office between a reply and its delivery without a duplicate, closing.
Telegram: the reply reaching the user's chat, the manager's Telegram reply to the notification becoming a
reply on the right ticket, a reply to anything else answered with a hint."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from bot.handoff.draft import TicketDraft
from tests.conftest import post_message
from tests.e2e.two_way_stack import MANAGER_CHAT, REFERENCE, TwoWayStack, wait_until
from tests.samples import handoff_draft_values
from tests.telegram.telegram_standin import SECRET, Call, bot_message, message_update, new_private_chat


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoWayStack]:
    running = TwoWayStack(tmp_path_factory.mktemp("two-way")).start()
    try:
        yield running
    finally:
        running.stop()


def _say(stack: TwoWayStack, sender: str, text: str) -> list[str]:
    assert stack.bot is not None
    return [r.get("text") or "" for r in post_message(stack.bot.url, sender, text)]


def _handoff(stack: TwoWayStack, sender: str, address: str) -> str:
    """The form over REST in English; the reference, after checking the sentence about the reply."""
    _say(stack, sender, "I'd like to talk to a real person")
    _say(stack, sender, "Aino Esimerkki")
    _say(stack, sender, address)
    _say(stack, sender, "Can our company join a RIS3 project?")
    _say(stack, sender, "/affirm")
    done = "\n".join(_say(stack, sender, "/affirm"))
    reference = REFERENCE.search(done)
    assert reference, done
    assert "His reply will appear in this chat and by e-mail to " + address in done
    assert "expect it " in done
    return reference.group(0)


def test_rest_reply_arrives_with_the_next_answer_and_once_by_mail(stack: TwoWayStack) -> None:
    sender, address = f"rest-{uuid.uuid4().hex[:8]}", f"aino.{uuid.uuid4().hex[:6]}@example.fi"
    reference = _handoff(stack, sender, address)
    store = stack.store()
    try:
        ticket = store.get(reference)
        assert ticket is not None and ticket.conversation_id == f"rest:{sender}" and ticket.status == "new"
    finally:
        store.close()

    manager = stack.manager()
    reply = manager.reply(reference, "Hei Aino! <b>Soitan</b> huomenna.")
    assert {d["route"]: d["status"] for d in reply["deliveries"]}["user_rest"] == "held"
    answer = _say(stack, sender, "what are the priorities?")
    assert any("logistics" in text for text in answer)  # the bot still answers the question
    expected = f"Reply from the project manager to your request {reference}:\n\nHei Aino! <b>Soitan</b> huomenna."
    assert answer[-1] == expected
    assert not any("Soitan" in text for text in _say(stack, sender, "thanks"))  # once only

    wait_until(lambda: stack.mails_to(address), what="the reply's e-mail")
    time.sleep(2)  # a second copy would come within the outbox's next rounds
    (mail,) = stack.mails_to(address)
    assert mail["Subject"] == f"Reply to your request {reference}" and mail.get_content_type() == "text/plain"
    assert "Hei Aino! <b>Soitan</b> huomenna." in mail.get_payload(decode=True).decode()

    added = "\n".join(_say(stack, sender, "add to my request: we are a company of 20 people in Kotka"))
    assert f"added that to your request {reference}" in added
    thread = manager.ticket(reference)["thread"]
    assert [(m["kind"], m["text"]) for m in thread][-1] == ("user_addition", "we are a company of 20 people in Kotka")
    assert manager.ticket(reference)["status"] == "new"


def test_the_outbox_survives_a_restart_between_reply_and_delivery(stack: TwoWayStack) -> None:
    sender, address = f"restart-{uuid.uuid4().hex[:8]}", f"eero.{uuid.uuid4().hex[:6]}@example.fi"
    reference = _handoff(stack, sender, address)
    manager = stack.manager()
    stack.stop_smtp()  # the mail server is down: the e-mail copy waits in the outbox
    try:
        manager.reply(reference, "Palaan asiaan ensi viikolla.")
        store = stack.store()
        try:
            def failed_once() -> bool:
                thread = store.thread(reference)
                jobs = [j for m in thread.messages for j in m.jobs if j.route == "user_email"]  # type: ignore[union-attr]
                return bool(jobs) and jobs[0].attempts >= 1 and jobs[0].status == "pending"

            wait_until(failed_once, what="a failed delivery attempt")
        finally:
            store.close()
        stack.stop_backoffice()
        # With the back office down the bot answers as before; the reply stays kept.
        down = _say(stack, sender, "what are the priorities?")
        assert any("logistics" in text for text in down) and not any("Palaan" in text for text in down)
    finally:
        stack.start_smtp()
    stack.start_backoffice()
    wait_until(lambda: stack.mails_to(address), timeout=60, what="the e-mail after the restart")
    time.sleep(12)  # past the REST client's quiet time after the back office was down, and more outbox rounds
    assert len(stack.mails_to(address)) == 1
    kept = _say(stack, sender, "what is the timeline?")
    assert sum("Palaan asiaan ensi viikolla." in text for text in kept) == 1
    assert not any("Palaan" in text for text in _say(stack, sender, "thanks"))

    closed = manager._open(
        f"/api/tickets/{reference}/status", b'{"status": "closed"}',
        {"Content-Type": "application/json", "X-CSRF-Token": manager.csrf},
    )
    assert closed[0] == 200
    told = _say(stack, sender, "hello")
    assert any(f"closed your request {reference}" in text for text in told)
    assert any("no open request" in text for text in _say(stack, sender, "add to my request: one more thing"))


def _post_update(stack: TwoWayStack, update: dict) -> None:
    import json
    import urllib.request

    assert stack.bot is not None
    request = urllib.request.Request(
        f"{stack.bot.url}/webhooks/telegram/webhook", data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _quoted(sent: Call) -> dict:
    """The bot's message to the manager's chat as his reply quotes it (Telegram gives the chat id as a number)."""
    return bot_message(Call(sent.method, {**sent.body, "chat_id": int(sent.chat_id)}, sent.at, result=sent.result))


def test_telegram_replies_both_ways(stack: TwoWayStack) -> None:
    chat = new_private_chat()
    store = stack.store()
    try:
        # The ticket as the form over Telegram leaves it (the form itself: tests/telegram/); its notification goes
        # to the manager's chat through the back office's outbox.
        draft = TicketDraft(**handoff_draft_values(conversation_id=f"telegram:{chat}", channel="telegram",
                                                   contact="+358 40 765 4321", language="en"))
        ticket = store.create_ticket(draft, ["telegram"])
        # The notification goes to the configured chat id (a string); answers to the manager's updates to the
        # update's chat (a number).
        notice = stack.telegram.wait_for_reply(str(MANAGER_CHAT), contains=ticket.reference)
        wait_until(lambda: store.ticket_of_telegram_notice(notice.result["message_id"]), what="the notice's id")

        manager = stack.manager()
        manager.reply(ticket.reference, "Hello <i>Maija</i>, I'll call you.")
        delivered = stack.telegram.wait_for_reply(chat, contains="I'll call you")
        assert delivered.text == (
            f"Reply from the project manager to your request {ticket.reference}:\n\nHello <i>Maija</i>, I'll call you."
        )
        assert "parse_mode" not in delivered.body

        # The manager answers in Telegram by replying to the notification.
        before = len(stack.telegram.replies(MANAGER_CHAT))
        _post_update(stack, message_update(MANAGER_CHAT, "Soitan tänään kello 14.", user_id=MANAGER_CHAT,
                                           reply_to=_quoted(notice)))
        stack.telegram.wait_for_reply(chat, contains="Soitan tänään kello 14.")
        stack.telegram.wait_for_reply(MANAGER_CHAT, contains=f"reply on {ticket.reference}", after=before)
        thread = store.thread(ticket.reference)
        assert thread is not None
        assert [(m.author, m.text) for m in thread.messages][-1] == ("telegram", "Soitan tänään kello 14.")

        # A reply to anything else: a hint, and nothing stored or sent.
        user_messages = len(stack.telegram.replies(chat))
        hint_after = len(stack.telegram.replies(MANAGER_CHAT))
        other = stack.telegram.replies(MANAGER_CHAT)[-1]  # the confirmation just sent, not a notification
        _post_update(stack, message_update(MANAGER_CHAT, "Thanks!", user_id=MANAGER_CHAT, reply_to=_quoted(other)))
        stack.telegram.wait_for_reply(MANAGER_CHAT, contains="reply (Telegram's Reply) to the bot's notification",
                                      after=hint_after)
        time.sleep(1)
        assert len(stack.telegram.replies(chat)) == user_messages
        assert len(store.thread(ticket.reference).messages) == 2  # type: ignore[union-attr]
    finally:
        store.close()


def test_the_push_route_takes_only_the_token(stack: TwoWayStack) -> None:
    import json
    import urllib.error
    import urllib.request

    assert stack.bot is not None

    def push(body: dict, token: str | None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(f"{stack.bot.url}/webhooks/socketio/push", json.dumps(body).encode(), headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    nobody = {"conversation_id": "web:" + "0" * 32, "text": "hello"}
    assert push(nobody, None)[0] == 401
    assert push(nobody, "wrong-token")[0] == 401
    assert push({"conversation_id": "rest:someone", "text": "hello"}, stack.push_token)[0] == 400
    assert push(nobody, stack.push_token) == (200, {"delivered": False})  # no page of that session is open
