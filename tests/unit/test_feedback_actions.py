"""The feedback question under each answer and what a press of Yes or No does (actions/feedback.py), run as the
action server runs them: a Tracker, a CollectingDispatcher, the domain, the real knowledge index."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.knowledge.service import KnowledgeService

QUESTION = "Which priorities did Kymenlaakso choose for its strategy?"


@pytest.fixture(scope="module")
def actions(service: KnowledgeService) -> ModuleType:
    return importlib.import_module("actions.actions")


@pytest.fixture(scope="module")
def feedback(service: KnowledgeService) -> ModuleType:
    return importlib.import_module("actions.feedback")


def tracker(
    text: str,
    intent: str,
    events: list[dict[str, Any]] | None = None,
    entities: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Tracker:
    return Tracker(
        sender_id="unit-feedback",
        slots={"language": "en"},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.95},
            "entities": entities or [],
            "metadata": metadata or {},
        },
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def answer(
    actions: ModuleType,
    domain: dict[str, Any],
    events: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    produced = actions.ActionAnswer().run(
        dispatcher, tracker(QUESTION, "ask_priorities", events, None, metadata), domain
    )
    return dispatcher.messages, produced


def decision_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return next(e["value"] for e in events if e.get("name") == "last_decision")


def press(
    feedback: ModuleType,
    domain: dict[str, Any],
    events: list[dict[str, Any]],
    word: str,
    ref: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    text = f'/answer_feedback{{"helpful":"{word}","answer_ref":"{ref}"}}'
    entities = [{"entity": "helpful", "value": word}, {"entity": "answer_ref", "value": ref}]
    dispatcher = CollectingDispatcher()
    produced = feedback.ActionAnswerFeedback().run(
        dispatcher, tracker(text, "answer_feedback", events, entities), domain
    )
    return dispatcher.messages, produced


def test_an_answer_is_followed_by_one_feedback_question_naming_it(actions: ModuleType, domain: dict[str, Any]) -> None:
    messages, events = answer(actions, domain)
    decision = decision_of(events)
    assert decision["answered"] and len(decision["ref"]) == 10
    assert [m["response"] for m in messages] == ["utter_answer", "utter_ask_feedback"]
    assert messages[1]["answer_ref"] == decision["ref"]
    # The words and the payloads are the domain's, in both languages, with the answer's reference in the payload.
    variants = domain["responses"]["utter_ask_feedback"]
    assert {v["text"] for v in variants} == {"Did this answer your question?", "Vastasiko tämä kysymykseesi?"}
    for variant in variants:
        payloads = [b["payload"] for b in variant["buttons"]]
        assert payloads == [
            f'/answer_feedback{{{{"helpful":"{w}","answer_ref":"{{answer_ref}}"}}}}' for w in ("yes", "no")
        ]


def test_refs_differ_between_answers(actions: ModuleType, domain: dict[str, Any]) -> None:
    refs = {decision_of(answer(actions, domain)[1])["ref"] for _ in range(20)}
    assert len(refs) == 20


def test_no_question_in_a_telegram_group(actions: ModuleType, domain: dict[str, Any]) -> None:
    messages, _ = answer(actions, domain, metadata={"telegram": {"chat_type": "supergroup"}})
    assert [m["response"] for m in messages] == ["utter_answer"]
    private, _ = answer(actions, domain, metadata={"telegram": {"chat_type": "private"}})
    assert [m["response"] for m in private] == ["utter_answer", "utter_ask_feedback"]


def test_no_question_for_a_fact_already_judged(
    actions: ModuleType, feedback: ModuleType, domain: dict[str, Any]
) -> None:
    _, first = answer(actions, domain)
    ref = decision_of(first)["ref"]
    _, verdict = press(feedback, domain, first, "yes", ref)
    again, _ = answer(actions, domain, events=first + verdict)
    assert [m["response"] for m in again] == ["utter_answer"]


def test_no_question_when_the_bot_does_not_know(actions: ModuleType, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    produced = actions.ActionAnswer().run(
        dispatcher, tracker("What is the weather like on Mars tomorrow?", "out_of_scope"), domain
    )
    assert not decision_of(produced)["answered"]
    assert "utter_ask_feedback" not in [m["response"] for m in dispatcher.messages]


def test_yes_is_thanked_and_kept_with_the_answer(
    actions: ModuleType, feedback: ModuleType, domain: dict[str, Any]
) -> None:
    _, events = answer(actions, domain)
    decision = decision_of(events)
    messages, produced = press(feedback, domain, events, "yes", decision["ref"])
    assert [m["response"] for m in messages] == ["utter_feedback_thanks"]
    (slot,) = produced
    assert slot["name"] == "answer_feedback"
    assert slot["value"] == {
        "ref": decision["ref"],
        "helpful": True,
        "fact": decision["fact"],
        "item": decision["item"],
        "hedged": False,
        "language": "en",
        "channel": decision["channel"],
    }


def test_no_offers_the_project_manager(actions: ModuleType, feedback: ModuleType, domain: dict[str, Any]) -> None:
    _, events = answer(actions, domain)
    messages, produced = press(feedback, domain, events, "no", decision_of(events)["ref"])
    assert [m["response"] for m in messages] == ["utter_feedback_sorry", "utter_handoff_offer"]
    assert [b["payload"] for b in messages[1]["buttons"]] == ["/affirm", "/deny"]
    assert {e["name"]: e["value"] for e in produced}["handoff_offered"] is True
    assert {e["name"]: e["value"] for e in produced}["answer_feedback"]["helpful"] is False


def test_an_older_answers_buttons_judge_that_answer(
    actions: ModuleType, feedback: ModuleType, domain: dict[str, Any]
) -> None:
    _, first = answer(actions, domain)
    dispatcher = CollectingDispatcher()
    second = actions.ActionAnswer().run(
        dispatcher, tracker("Who is the project manager?", "ask_contact", first), domain
    )
    assert decision_of(second)["fact"] != decision_of(first)["fact"]
    _, produced = press(feedback, domain, first + second, "no", decision_of(first)["ref"])
    recorded = {e["name"]: e["value"] for e in produced}["answer_feedback"]
    assert recorded["fact"] == decision_of(first)["fact"] and recorded["ref"] == decision_of(first)["ref"]


@pytest.mark.parametrize("word, ref", [("no", "0123456789"), ("maybe", None), ("no", "x" * 200), ("no", "../../etc")])
def test_an_unknown_or_malformed_press_is_thanked_and_not_kept(
    actions: ModuleType, feedback: ModuleType, domain: dict[str, Any], word: str, ref: str | None
) -> None:
    _, events = answer(actions, domain)
    messages, produced = press(feedback, domain, events, word, ref or decision_of(events)["ref"])
    assert [m["response"] for m in messages] == ["utter_feedback_thanks"] and produced == []


def test_a_second_press_on_one_answer_is_not_kept(
    actions: ModuleType, feedback: ModuleType, domain: dict[str, Any]
) -> None:
    _, events = answer(actions, domain)
    ref = decision_of(events)["ref"]
    _, first = press(feedback, domain, events, "yes", ref)
    messages, produced = press(feedback, domain, events + first, "no", ref)
    assert [m["response"] for m in messages] == ["utter_feedback_thanks"] and produced == []


def test_a_no_pressed_in_a_telegram_group_points_to_a_private_chat(
    actions: ModuleType, feedback: ModuleType, domain: dict[str, Any]
) -> None:
    """No question is asked in a group, but an older button (or a forged press) may come from one: the handoff
    is then offered in a private chat, never as the form in the group."""
    _, events = answer(actions, domain)
    ref = decision_of(events)["ref"]
    text = f'/answer_feedback{{"helpful":"no","answer_ref":"{ref}"}}'
    entities = [{"entity": "helpful", "value": "no"}, {"entity": "answer_ref", "value": ref}]
    group = {"telegram": {"chat_type": "group", "bot_username": "ris3_test_bot"}}
    dispatcher = CollectingDispatcher()
    produced = feedback.ActionAnswerFeedback().run(
        dispatcher, tracker(text, "answer_feedback", events, entities, group), domain
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_feedback_sorry", "utter_handoff_private_chat"]
    assert {e.get("name"): e.get("value") for e in produced}["handoff_offered"] is False
