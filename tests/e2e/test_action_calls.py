"""One user message, one action-server round trip: the conversation's language is set in the Rasa server
(bot.nlu.language and the slot's from_entity mapping), so Rasa no longer calls action_validate_slot_mappings
before the action that answers. A second Rasa server talks to the shared bot's action server through a
recording proxy (tests/e2e/action_proxy.py), which counts the requests of each message."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from bot.runtime import BotProcesses
from tests.conftest import post_message
from tests.e2e.action_proxy import ActionProxy


@pytest.fixture(scope="module")
def counted(bot_stack: BotProcesses) -> Iterator[tuple[str, ActionProxy]]:
    proxy = ActionProxy(f"http://127.0.0.1:{bot_stack.action_port}").start()
    rasa = BotProcesses(parts=("rasa",), action_token=bot_stack.action_token, action_url=f"{proxy.url}/webhook")
    try:
        rasa.start()
        post_message(rasa.url, "warm-up", "what is smart specialisation?")
        yield rasa.url, proxy
    finally:
        rasa.stop()
        proxy.stop()


def text_of(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def test_each_message_costs_one_action_call_and_the_language_still_follows(
    counted: tuple[str, ActionProxy],
) -> None:
    url, proxy = counted
    sender = f"calls-{uuid.uuid4().hex[:8]}"
    steps = [  # (message, the one action it calls, what the reply says)
        ("hi", "action_greet", "Hello"),
        ("What are the priorities?", "action_answer", "Source:"),
        ("kuka on projektipäällikkö?", "action_answer", "Lähde:"),  # detected: Finnish from here on
        ('/answer_fact{"fact_id":"priorities_all"}', "action_answer", "Lähde:"),  # a button keeps it
        ("RIS3?", "action_answer", "Lähde:"),  # does not tell: keeps it
        ("in English please", "action_switch_language", "English"),
        ("who is the project manager?", "action_answer", "Source:"),
    ]
    for message, action, said in steps:
        before = len(proxy.calls_for(sender))
        reply = text_of(post_message(url, sender, message))
        calls = [c.action for c in proxy.calls_for(sender)[before:]]
        assert calls == [action], (message, calls)
        assert said in reply, (message, reply)


def test_no_message_calls_the_slot_validation_action(counted: tuple[str, ActionProxy]) -> None:
    url, proxy = counted
    sender = f"calls-{uuid.uuid4().hex[:8]}"
    for message in ("thanks", "mitkä ovat strategian painopisteet?", "ok", "kiitos", "help"):
        post_message(url, sender, message)
    assert proxy.calls, "no request went through the proxy"
    assert "action_validate_slot_mappings" not in {c.action for c in proxy.calls}
