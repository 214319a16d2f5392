"""The handoff's actions with a tracker built in the test: what is said and stored when consent is
refused or the database is down, and how a handoff resumes with the answers kept after that."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import InternalError

from bot.handoff.store import StoreUnavailable

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def handoff() -> Any:
    import actions.handoff as module

    return module


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def tracker(*, said: str = "/affirm", intent: str = "affirm", **slots: Any) -> Tracker:
    return Tracker(
        sender_id="unit",
        slots={"language": "en", **slots},
        latest_message={"text": said, "intent": {"name": intent, "confidence": 1.0}, "entities": []},
        events=[
            {
                "event": "user",
                "text": "how big is the budget?",
                "timestamp": 1.0,
                "parse_data": {"intent": {"name": "ask_ris3"}},
            },
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
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm"]
    # The form's answers are kept, so asking again does not make the user type them again; only the
    # confirmation is asked again, and a "yes" (try again) takes up the offer.
    assert slot_values(events) == {"handoff_confirm": None, "handoff_offered": True}


class ReadOnlyStore:
    """A store whose database refuses writes, e.g. a PostgreSQL standby after a failover."""

    def create_ticket(self, draft: Any, channels: Any) -> Any:
        raise InternalError(
            "INSERT INTO tickets (name, contact) VALUES (%(name)s, %(contact)s)",
            {"name": draft.name, "contact": draft.contact},
            Exception("cannot execute INSERT in a read-only transaction"),
        )


def test_any_database_error_at_confirmation_keeps_the_answers_and_logs_no_contact(
    handoff: Any, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(handoff, "_get_store", ReadOnlyStore)
    with caplog.at_level(logging.DEBUG):
        messages, events = submit(handoff, domain, tracker(**FILLED, language="fi"))
    assert [m["response"] for m in messages] == ["utter_handoff_store_down"]
    assert [b["title"] for b in messages[0]["buttons"]] == ["Yritä uudelleen"]
    assert slot_values(events) == {"handoff_confirm": None, "handoff_offered": True}
    assert "InternalError" in caplog.text
    assert FILLED["handoff_contact"] not in caplog.text and FILLED["handoff_name"] not in caplog.text


def slot_values(events: list[dict]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


KEPT = {**FILLED, "handoff_confirm": None, "handoff_offered": True}


@pytest.mark.parametrize(("said", "intent"), [("I want to talk to a person", "ask_human"), ("try again", "affirm")])
def test_a_new_handoff_after_a_failed_confirmation_keeps_the_answers(
    handoff: Any, domain: dict[str, Any], said: str, intent: str
) -> None:
    dispatcher = CollectingDispatcher()
    events = handoff.ActionHuman().run(dispatcher, tracker(said=said, intent=intent, **KEPT), domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_resume"]
    slots = slot_values(events)
    # Nothing the user gave is cleared; the form finds it all and asks only for the confirmation.
    assert not {"handoff_name", "handoff_contact", "handoff_question", "handoff_consent"} & slots.keys()
    assert slots["handoff_confirm"] is None and slots["handoff_offered"] is False


def test_the_resumed_form_asks_for_the_confirmation_with_the_kept_answers(handoff: Any, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    handoff.ActionAskHandoffConfirm().run(dispatcher, tracker(**KEPT), domain)
    (message,) = dispatcher.messages
    assert message["response"] == "utter_handoff_summary"
    assert (message["name"], message["contact"], message["question"]) == (
        FILLED["handoff_name"],
        FILLED["handoff_contact"],
        FILLED["handoff_question"],
    )


def test_the_resume_is_said_in_both_languages(domain: dict[str, Any]) -> None:
    variations = domain["responses"]["utter_handoff_resume"]
    assert [v.get("condition", [{}])[0].get("value") for v in variations] == ["fi", None]
    store_down = domain["responses"]["utter_handoff_store_down"]
    assert "yritä uudelleen" in store_down[0]["text"] and "try again" in store_down[1]["text"]


def test_a_question_of_the_users_own_survives_a_form_resumed_by_a_yes(handoff: Any, domain: dict[str, Any]) -> None:
    """Re-opening validates the kept answers with the latest message, here the "yes" to trying again:
    that yes must not swap the user's own question for the draft offered at the question step."""
    own = "Can our company join a project?"
    kept = {**KEPT, "handoff_question": own, "handoff_question_draft": "how big is the budget?"}
    form = handoff.ValidateHandoffForm()
    result = form.validate_handoff_question(own, CollectingDispatcher(), tracker(**kept), domain)
    assert result == {"handoff_question": own}
    # At the question step itself a yes still keeps the draft.
    asked = tracker(**{**kept, "handoff_question": None, "requested_slot": "handoff_question"})
    assert form.validate_handoff_question("/affirm", CollectingDispatcher(), asked, domain) == {
        "handoff_question": "how big is the budget?"
    }


def test_a_first_handoff_starts_from_the_beginning(handoff: Any, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    half_done = {"handoff_name": "Test Person", "handoff_contact": "test@example.fi"}
    events = handoff.ActionHuman().run(dispatcher, tracker(intent="ask_human", **half_done), domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_intro"]
    slots = slot_values(events)
    assert slots["handoff_name"] is None and slots["handoff_contact"] is None


@pytest.mark.parametrize(("action", "intent"), [("ActionDeclineHandoff", "deny"), ("ActionCancelHandoff", "cancel")])
def test_no_or_cancel_after_a_failed_confirmation_drops_the_kept_answers(
    handoff: Any, domain: dict[str, Any], action: str, intent: str
) -> None:
    dispatcher = CollectingDispatcher()
    events = getattr(handoff, action)().run(dispatcher, tracker(intent=intent, **KEPT), domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_cancelled"]
    slots = slot_values(events)
    assert all(slots[slot] is None for slot in handoff.FORM_SLOTS)
    assert slots["handoff_offered"] is False


def test_cancel_with_nothing_kept_asks_what_else(handoff: Any, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    events = handoff.ActionCancelHandoff().run(dispatcher, tracker(intent="cancel"), domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_anything_else"]
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


# --- issue 25: what the form expects, payloads as values, an old "Yes" -------------------------------------------
def form_tracker(said: str, intent: str, requested: str, events: list[dict] | None = None, **slots: Any) -> Tracker:
    t = tracker(said=said, intent=intent, requested_slot=requested, **slots)
    t.active_loop = {"name": "handoff_form"}
    if events is not None:
        t.events = events
    return t


@pytest.mark.parametrize(("language", "slot"), [("en", "handoff_consent"), ("fi", "handoff_confirm")])
def test_other_text_at_a_yes_or_no_step_gets_the_forms_own_prompt(
    handoff: Any, domain: dict[str, Any], language: str, slot: str
) -> None:
    form = handoff.ValidateHandoffForm()
    dispatcher = CollectingDispatcher()
    t = form_tracker("what does that mean?", "out_of_scope", slot, language=language)
    assert asyncio.run(getattr(form, f"extract_{slot}")(dispatcher, t, domain)) == {slot: None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_expect_yes_no"]
    # A yes, a no or a cancel are the step's own answers: left to the slot's mapping and the cancel rule.
    for intent in ("affirm", "deny", "cancel"):
        quiet = CollectingDispatcher()
        assert asyncio.run(getattr(form, f"extract_{slot}")(quiet, form_tracker("x", intent, slot), domain)) == {}
        assert quiet.messages == []
    # Another step's question is not this one's business.
    other_step = form_tracker("x", "greet", "handoff_name")
    assert asyncio.run(form.extract_handoff_consent(dispatcher, other_step, domain)) == {}


@pytest.mark.parametrize("payload", ["/affirm", "/deny", '/answer_fact{"fact_id":"contact_pm"}'])
def test_a_buttons_payload_is_never_a_form_value(handoff: Any, domain: dict[str, Any], payload: str) -> None:
    form = handoff.ValidateHandoffForm()
    for slot, response in (("handoff_name", "utter_invalid_name"), ("handoff_contact", "utter_invalid_contact")):
        dispatcher = CollectingDispatcher()
        t = form_tracker(payload, "affirm", slot)
        assert getattr(form, f"validate_{slot}")(payload, dispatcher, t, domain) == {slot: None}
        assert [m["response"] for m in dispatcher.messages] == [response]
    if payload != "/affirm":  # "/affirm" there keeps the offered draft
        dispatcher = CollectingDispatcher()
        t = form_tracker(payload, "deny", "handoff_question")
        assert form.validate_handoff_question(payload, dispatcher, t, domain) == {"handoff_question": None}


def test_submitting_says_the_phone_number_not_the_meeting_rule(
    handoff: Any, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Store:
        def create_ticket(self, draft: Any, channels: Any) -> Any:
            return type("T", (), {"reference": "RIS3-TEST", "contact": draft.contact})()

    monkeypatch.setattr(handoff, "_get_store", Store)
    monkeypatch.setattr(handoff, "_deliver_now", lambda store: asyncio.sleep(0))
    messages, _ = submit(handoff, domain, tracker(**FILLED))
    done = messages[0]
    assert done["response"] == "utter_handoff_done" and "+358 44 747 8512" in done["contact"]
    assert "appointment" not in done["contact"]


def test_an_old_yes_after_the_request_was_sent_says_so(handoff: Any, domain: dict[str, Any]) -> None:
    yes_no = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    history = [
        {"event": "bot", "text": "Shall I send this?", "data": {"buttons": yes_no}},
        {"event": "user", "text": "/affirm"},
        {"event": "slot", "name": "handoff_reference", "value": "RIS3-AB12"},
        {"event": "bot", "text": "Thank you!", "data": {"buttons": [{"title": "Add", "payload": "/add_to_request"}]}},
        {"event": "user", "text": "/affirm"},
    ]
    action = handoff.ActionYesNoAlone()
    dispatcher = CollectingDispatcher()
    t = tracker(said="/affirm", handoff_reference="RIS3-AB12")
    t.events = history
    action.run(dispatcher, t, domain)
    assert [(m["response"], m.get("reference")) for m in dispatcher.messages] == [
        ("utter_handoff_already_sent", "RIS3-AB12")]
    # A typed "yes", or a yes to a later yes-or-no question, is not about the sent request.
    for said, events in (("yes", history), ("/affirm", [*history[:-1], history[0], history[-1]])):
        dispatcher = CollectingDispatcher()
        t = tracker(said=said, handoff_reference="RIS3-AB12")
        t.events = events
        action.run(dispatcher, t, domain)
        assert [m["response"] for m in dispatcher.messages] == ["utter_anything_else"]


def test_the_question_carried_from_a_telegram_group_is_offered(handoff: Any, domain: dict[str, Any]) -> None:
    """Issue 25 item 13: "/start handoff_en_g<group>" carries the member's question asked in the group."""
    carried = "How can my company apply for funding?"
    t = tracker(said="aino@example.fi", intent="out_of_scope")
    t.events = [
        {"event": "user", "text": "/ask_human", "parse_data": {"intent": {"name": "ask_human"}},
         "metadata": {"telegram": {"chat_type": "private", "group_question": carried}}},
        {"event": "action", "name": "action_human"},
        {"event": "user", "text": "Aino Esimerkki", "parse_data": {"intent": {"name": "out_of_scope"}}},
    ]
    dispatcher = CollectingDispatcher()
    events = handoff.ActionAskHandoffQuestion().run(dispatcher, t, domain)
    assert dispatcher.messages[0]["response"] == "utter_handoff_question_draft"
    assert dispatcher.messages[0]["draft"] == carried and slot_values(events) == {"handoff_question_draft": carried}
    # A question asked in this conversation itself comes first.
    t.events = [{"event": "user", "text": "Who funds it?", "parse_data": {"intent": {"name": "ask_project"}}},
                *t.events]
    dispatcher = CollectingDispatcher()
    handoff.ActionAskHandoffQuestion().run(dispatcher, t, domain)
    assert dispatcher.messages[0]["draft"] == "Who funds it?"
