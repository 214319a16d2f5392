"""The custom actions, run as the action server runs them: a Tracker, a CollectingDispatcher and the
domain, with the real knowledge index and model."""

from __future__ import annotations

import importlib
import json
import string
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.knowledge.index import IndexNotReady, KnowledgeIndex
from bot.knowledge.replies import fact_payload, menu_buttons
from bot.knowledge.retrieval import Decision
from bot.knowledge.service import KnowledgeService

CONTACT_NAME = "Petri Tolmunen"
CONTACT_PHONE = "+358 44 747 8512"
TEL = {"title": CONTACT_PHONE, "url": "tel:+358447478512"}
PRIORITIES = (
    "smart and green logistics",
    "renewable materials and energy",
    "data economy, cyber security and gamification",
)


@pytest.fixture(scope="session")
def actions(service: KnowledgeService) -> ModuleType:
    """actions.actions, imported as the action server does (it checks the index at import)."""
    try:
        return importlib.import_module("actions.actions")
    except SystemExit as exc:  # a missing or stale index: fail the tests, not the whole collection
        pytest.fail(f"actions.actions refused to load: {exc}")


def make_tracker(
    text: str, intent: str | None = None, confidence: float = 1.0, entities: list[dict[str, Any]] | None = None
) -> Tracker:
    return Tracker(
        sender_id="unit-test",
        slots={},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "entities": entities or [],
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


def button_tracker(fact_id: str) -> Tracker:
    """What a button's payload turns into: intent answer_fact with the fact_id entity."""
    payload = fact_payload(fact_id)
    return make_tracker(payload, "answer_fact", 1.0, [{"entity": "fact_id", "value": fact_id}])


def run(action: Action, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, domain)
    # The only events these actions return count the misses that lead to a handoff offer and keep the
    # conversation's state for follow-ups.
    state = {"failed_answers", "handoff_offered", "last_fact", "listed", "last_decision"}
    assert all(e["event"] == "slot" and e["name"] in state for e in events)
    for message in dispatcher.messages:
        assert_fills_domain(message, domain)
    # The feedback question under an answer (tests/unit/test_feedback_actions.py) is not the answer.
    return [m for m in dispatcher.messages if m.get("response") != "utter_ask_feedback"]


def assert_fills_domain(message: dict[str, Any], domain: dict[str, Any]) -> None:
    """The message names a domain response and provides every placeholder of its texts."""
    response = message["response"]
    assert response in domain["responses"], response
    for variant in domain["responses"][response]:
        for _, name, _, _ in string.Formatter().parse(variant.get("text") or ""):
            if name:
                value = message.get(name)
                assert isinstance(value, str) and value.strip(), f"{response}: placeholder {{{name}}} not filled"


def as_dicts(index: KnowledgeIndex, fact_ids: tuple[str, ...] | list[str]) -> list[dict[str, str]]:
    return [{"title": index.facts[f].title["en"], "payload": fact_payload(f)} for f in fact_ids]


def menu(index: KnowledgeIndex) -> list[dict[str, str]]:
    return [{"title": b.title, "payload": b.payload} for b in menu_buttons(index, "en")]


# --- action_answer ---------------------------------------------------------------------------


def test_action_names_are_in_the_domain(actions: ModuleType, domain: dict[str, Any]) -> None:
    classes = (actions.ActionAnswer, actions.ActionGreet, actions.ActionHelp)
    assert {cls().name() for cls in classes} <= set(domain["actions"])


def test_priorities_question(actions: ModuleType, index: KnowledgeIndex, domain: dict[str, Any]) -> None:
    tracker = make_tracker("Which priorities did Kymenlaakso choose for its strategy?", "ask_priorities", 0.95)
    messages = run(actions.ActionAnswer(), tracker, domain)
    assert len(messages) == 1
    message = messages[0]
    assert message["response"] == "utter_answer"
    answer = message["answer"].casefold()
    for priority in PRIORITIES:
        assert priority in answer
    assert "Kymenlaakson liitto" in message["source"]
    assert message["buttons"] == as_dicts(index, index.facts["priorities_all"].follow_ups)
    assert message["buttons"]


def test_button_payload_answers_that_fact(actions: ModuleType, index: KnowledgeIndex, domain: dict[str, Any]) -> None:
    messages = run(actions.ActionAnswer(), button_tracker("contact_email"), domain)
    assert len(messages) == 1
    message = messages[0]
    assert message["response"] == "utter_answer"
    assert message["answer"] == index.facts["contact_email"].text["en"]
    assert "@" not in message["answer"]
    assert CONTACT_PHONE in message["answer"]
    # The number it gives is a tap-to-call link; then the follow-ups.
    assert message["buttons"] == [TEL, *as_dicts(index, index.facts["contact_email"].follow_ups)]


def test_button_payload_does_not_use_retrieval(
    actions: ModuleType, service: KnowledgeService, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Decision:
        raise AssertionError("a known fact_id must be answered without retrieval")

    monkeypatch.setattr(service.retriever, "decide", fail)
    messages = run(actions.ActionAnswer(), button_tracker("timeline_period"), domain)
    assert [m["response"] for m in messages] == ["utter_answer"]


def test_unknown_fact_id_falls_back_to_retrieval(
    actions: ModuleType, service: KnowledgeService, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []
    decide: Callable[..., Decision] = service.retriever.decide

    def spy(*args: Any) -> Decision:
        calls.append(args)
        return decide(*args)

    monkeypatch.setattr(service.retriever, "decide", spy)
    messages = run(actions.ActionAnswer(), button_tracker("no_such_fact"), domain)
    assert len(calls) == 1
    assert calls[0][0] == fact_payload("no_such_fact")
    assert len(messages) == 1
    # The payload's words are read like any typed text (the fact classifier may place them, as it did the words
    # "answer" and "fact"); the fact the payload names, which does not exist, is never stated.
    assert messages[0]["response"] in domain["responses"]
    assert "no_such_fact" not in json.dumps(messages)


def test_out_of_scope_question(actions: ModuleType, index: KnowledgeIndex, domain: dict[str, Any]) -> None:
    tracker = make_tracker("what's the weather like in Kotka today", "out_of_scope", 0.97)
    messages = run(actions.ActionAnswer(), tracker, domain)
    assert len(messages) == 1
    message = messages[0]
    assert message["response"] == "utter_dont_know"
    assert CONTACT_NAME in message["contact"]
    assert CONTACT_PHONE in message["contact"]
    assert message["buttons"] == [TEL, *menu(index)]


def test_empty_message(actions: ModuleType, domain: dict[str, Any]) -> None:
    tracker = Tracker("unit-test", {}, {}, [], False, None, {}, None)
    messages = run(actions.ActionAnswer(), tracker, domain)
    assert [m["response"] for m in messages] == ["utter_dont_know"]


def test_knowledge_unavailable(actions: ModuleType, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> KnowledgeService:
        raise IndexNotReady("no knowledge index (test)")

    monkeypatch.setattr(actions, "get_service", unavailable)
    tracker = make_tracker("what are the priorities?", "ask_priorities", 0.95)
    messages = run(actions.ActionAnswer(), tracker, domain)
    assert [m["response"] for m in messages] == ["utter_knowledge_unavailable"]


# --- greet, help, human ----------------------------------------------------------------------


@pytest.mark.parametrize(("action_name", "response"), [("ActionGreet", "utter_greet"), ("ActionHelp", "utter_help")])
def test_greet_and_help_offer_the_menu(
    actions: ModuleType, index: KnowledgeIndex, domain: dict[str, Any], action_name: str, response: str
) -> None:
    messages = run(getattr(actions, action_name)(), make_tracker("hello", "greet"), domain)
    assert len(messages) == 1
    assert messages[0]["response"] == response
    assert messages[0]["buttons"] == menu(index)
    assert len(messages[0]["buttons"]) == len(index.knowledge.menu)


def test_a_second_miss_in_a_row_offers_the_project_manager(actions: ModuleType, domain: dict[str, Any]) -> None:
    first = make_tracker("who won the hockey game", "out_of_scope", 0.9)
    (message,) = run(actions.ActionAnswer(), first, domain)
    assert message["response"] == "utter_dont_know"
    second = make_tracker("recipe for salmon soup", "out_of_scope", 0.9)
    second.slots["failed_answers"] = 1.0
    dispatcher = CollectingDispatcher()
    events = actions.ActionAnswer().run(dispatcher, second, domain)
    (offer,) = dispatcher.messages
    assert offer["response"] == "utter_dont_know_offer"
    # Yes and no, and the phone number the offer gives as a link.
    assert offer["buttons"][:2] == [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    assert offer["buttons"][2:] == [TEL]
    assert {"event": "slot", "timestamp": None, "name": "handoff_offered", "value": True} in events


def test_in_a_telegram_group_a_second_miss_gives_the_contact_without_an_offer(
    actions: ModuleType, domain: dict[str, Any]
) -> None:
    # The handoff cannot happen in a group (no personal data is collected there): no yes/no question, the
    # reply gives the contact, and asking for a person leads to a private chat (tests/telegram).
    second = make_tracker("recipe for salmon soup", "out_of_scope", 0.9)
    second.slots["failed_answers"] = 1.0
    second.latest_message["metadata"] = {"telegram": {"chat_type": "supergroup", "bot_username": "ris3_bot"}}
    dispatcher = CollectingDispatcher()
    events = actions.ActionAnswer().run(dispatcher, second, domain)
    (reply,) = dispatcher.messages
    assert reply["response"] == "utter_dont_know"
    assert not any(e.get("name") == "handoff_offered" for e in events)


# --- issue 25 item 9: "the second one" refers to the last list the user saw as a list ------------------------
def _listed_after(events: list[dict[str, Any]]) -> list[str]:
    return next(e["value"] for e in events if e["event"] == "slot" and e["name"] == "listed")


def test_after_pressing_an_item_of_a_list_an_ordinal_still_means_that_list(
    actions: ModuleType, domain: dict[str, Any]
) -> None:
    listed = ["priority_logistics", "priority_renewables", "priority_digital"]
    press = button_tracker("priority_logistics")
    press.slots.update(last_fact="priorities_all", listed=listed)
    events = actions.ActionAnswer().run(CollectingDispatcher(), press, domain)
    # The answer's buttons are the two other priorities; the list the user saw is the three.
    assert _listed_after(events) == listed
    second = make_tracker("the second one", "follow_up")
    second.slots.update(last_fact="priority_logistics", listed=listed)
    dispatcher = CollectingDispatcher()
    actions.ActionAnswer().run(dispatcher, second, domain)
    assert "renewable materials and energy" in dispatcher.messages[0]["answer"].casefold()
    # A fact that is no item of the list seen before: its own buttons are what "the second one" means then.
    elsewhere = button_tracker("contact_project_manager")
    elsewhere.slots.update(last_fact="priority_logistics", listed=listed)
    assert _listed_after(actions.ActionAnswer().run(CollectingDispatcher(), elsewhere, domain)) != listed


def test_tell_me_more_after_one_priority_says_that_is_all_the_page_says(
    actions: ModuleType, domain: dict[str, Any]
) -> None:
    more = make_tracker("tell me more", "follow_up")
    more.slots.update(last_fact="priority_logistics", listed=["priority_logistics", "priority_renewables"])
    dispatcher = CollectingDispatcher()
    actions.ActionAnswer().run(dispatcher, more, domain)
    (message,) = dispatcher.messages
    assert message["response"] == "utter_all_said" and message["subject"] == "smart and green logistics"
    assert_fills_domain(message, domain)


def test_a_withheld_fact_is_not_stated_and_the_reply_says_the_source_changed(
    actions: ModuleType, index: KnowledgeIndex, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    for fact_id in ("contact_email", "contact_project_manager"):
        fact = dataclasses.replace(index.facts[fact_id], withheld="version 2 no longer has the number")
        monkeypatch.setitem(index.knowledge.facts, fact_id, fact)
    messages = run(actions.ActionAnswer(), button_tracker("contact_email"), domain)
    assert [m["response"] for m in messages] == ["utter_fact_withheld"]
    said = " ".join(str(v) for v in messages[0].values())
    assert CONTACT_PHONE not in said and "have changed" in messages[0]["contact"]
