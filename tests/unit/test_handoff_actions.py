"""The handoff's actions with a tracker built in the test: what is said and stored when consent is
refused or the database is down."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.handoff.store import StoreUnavailable

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def handoff() -> Any:
    import actions.handoff as module

    return module


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def tracker(**slots: Any) -> Tracker:
    return Tracker(
        sender_id="unit",
        slots={"language": "en", **slots},
        latest_message={"text": "/affirm", "intent": {"name": "affirm", "confidence": 1.0}, "entities": []},
        events=[
            {"event": "user", "text": "how big is the budget?", "timestamp": 1.0,
             "parse_data": {"intent": {"name": "ask_ris3"}}},
            {"event": "action", "name": "action_human", "timestamp": 2.0},
            {"event": "user", "text": "Test Person", "timestamp": 3.0, "parse_data": {"intent": {"name": "greet"}}},
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


FILLED = {
    "handoff_name": "Test Person",
    "handoff_contact": "test@example.fi",
    "handoff_question": "how big is the budget?",
    "handoff_consent": True,
    "handoff_confirm": True,
}


def submit(handoff: Any, domain: dict[str, Any], t: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(handoff.ActionSubmitHandoff().run(dispatcher, t, domain))
    return dispatcher.messages, events


def test_a_database_that_is_down_loses_nothing_the_user_gave(
    handoff: Any, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def down() -> Any:
        raise StoreUnavailable("handoff database unavailable (test)")

    monkeypatch.setattr(handoff, "_get_store", down)
    messages, events = submit(handoff, domain, tracker(**FILLED))
    assert [m["response"] for m in messages] == ["utter_handoff_store_down"]
    assert "+358 44 747 8512" in messages[0]["contact"]
    # The form's answers are kept, so asking again does not make the user type them again.
    assert events == []


def test_no_consent_stores_nothing(handoff: Any, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_be_called() -> Any:
        raise AssertionError("the store must not be touched without consent")

    monkeypatch.setattr(handoff, "_get_store", must_not_be_called)
    messages, events = submit(handoff, domain, tracker(**{**FILLED, "handoff_consent": False}))
    assert [m["response"] for m in messages] == ["utter_handoff_no_consent"]
    assert {e["name"] for e in events} >= {"handoff_name", "handoff_contact", "handoff_question"}
    assert all(e["value"] is None for e in events)


def test_the_question_offered_is_the_one_asked_before_the_handoff(handoff: Any, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    events = handoff.ActionAskHandoffQuestion().run(dispatcher, tracker(), domain)
    (message,) = dispatcher.messages
    assert message["response"] == "utter_handoff_question_draft"
    assert message["draft"] == "how big is the budget?"
    assert events[0]["value"] == "how big is the budget?"


@pytest.mark.parametrize(
    ("value", "ok"),
    [("aino@example.fi", True), ("aino@example", False), ("044 747 8512", True), ("12", False), ("", False)],
)
def test_contact_validation_in_the_form(handoff: Any, domain: dict[str, Any], value: str, ok: bool) -> None:
    dispatcher = CollectingDispatcher()
    result = handoff.ValidateHandoffForm().validate_handoff_contact(value, dispatcher, tracker(), domain)
    assert (result["handoff_contact"] is not None) == ok
    assert bool(dispatcher.messages) != ok
