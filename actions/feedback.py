"""Whether an answer helped: the question under each knowledge answer and what a press of Yes or No does.

Each answer's decision record (slot `last_decision`) carries a short random `ref`; the feedback buttons of
`utter_ask_feedback` (domain.yml: the words and the payloads, in the answer's language) send it back as
`/answer_feedback{"helpful": "yes"|"no", "answer_ref": "<ref>"}`. The verdict is kept in slot `answer_feedback`
with the answer it is about (ref, fact, language, channel), so that bot/analytics/turns.py can attach it to the
answer's turn; a "no" also offers the project manager (the existing offer, actions/handoff.py).

Kept light: one question per answer, never in a Telegram group, and not again for a fact the user has already
judged in this conversation. A press on an older answer's button still counts for that answer; a second press
on the same answer, or a reference that is not in this conversation (forged, or from before a restart), is
thanked and not recorded.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.group_chat import in_group_chat
from actions.handoff import ActionOfferHandoff

FEEDBACK_INTENT = "answer_feedback"
FEEDBACK_SLOT = "answer_feedback"
DECISION_SLOT = "last_decision"
VERDICTS = {"yes": True, "no": False}
# A reference is ours only if it looks like one: anything else from a payload is not looked up.
REF_LENGTH = 10


def new_ref() -> str:
    """A reference for one answer: unique within a conversation, and not guessable across them."""
    return secrets.token_hex(REF_LENGTH // 2)


def _slot_values(events: Iterable[Mapping[str, Any]], slot: str) -> Iterable[dict[str, Any]]:
    for event in events:
        if event.get("event") == "slot" and event.get("name") == slot and isinstance(event.get("value"), dict):
            yield event["value"]


def judged_facts(events: Iterable[Mapping[str, Any]]) -> set[str]:
    """The facts the user has said were helpful or not in this conversation."""
    return {str(v["fact"]) for v in _slot_values(events, FEEDBACK_SLOT) if v.get("fact")}


def should_ask(decision: Mapping[str, Any], tracker: Tracker) -> bool:
    """Whether this answer gets the question: a fact given in answer to a question, outside a group, and a
    fact not already judged in this conversation."""
    if decision.get("kind") != "answer" or not decision.get("answered") or not decision.get("ref"):
        return False
    if in_group_chat(tracker):
        return False
    return decision.get("fact") not in judged_facts(tracker.events)


def ask(dispatcher: CollectingDispatcher, decision: Mapping[str, Any]) -> None:
    dispatcher.utter_message(response="utter_ask_feedback", answer_ref=decision["ref"])


def find_answer(events: Iterable[Mapping[str, Any]], ref: str) -> dict[str, Any] | None:
    """The decision record this reference names, if it is in this conversation."""
    return next((v for v in _slot_values(events, DECISION_SLOT) if v.get("ref") == ref), None)


def already_judged(events: Iterable[Mapping[str, Any]], ref: str) -> bool:
    return any(v.get("ref") == ref for v in _slot_values(events, FEEDBACK_SLOT))


def read_press(tracker: Tracker) -> tuple[bool | None, str | None]:
    """The verdict and the reference a press sent; (None, None) for anything malformed."""
    verdict = VERDICTS.get(str(next(tracker.get_latest_entity_values("helpful"), "")).strip().lower())
    ref = next(tracker.get_latest_entity_values("answer_ref"), None)
    if verdict is None or not isinstance(ref, str) or len(ref) != REF_LENGTH or not ref.isalnum():
        return None, None
    return verdict, ref


class ActionAnswerFeedback(Action):
    def name(self) -> str:
        return "action_answer_feedback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        helpful, ref = read_press(tracker)
        answer = find_answer(tracker.events, ref) if ref else None
        if helpful is None or ref is None or answer is None or already_judged(tracker.events, ref):
            dispatcher.utter_message(response="utter_feedback_thanks")
            return []
        record = {
            "ref": ref,
            "helpful": helpful,
            "fact": answer.get("fact"),
            "item": answer.get("item"),
            "hedged": bool(answer.get("hedged")),
            "language": answer.get("language"),
            "channel": answer.get("channel"),
        }
        events: list[dict[str, Any]] = [SlotSet(FEEDBACK_SLOT, record)]
        if helpful:
            dispatcher.utter_message(response="utter_feedback_thanks")
            return events
        dispatcher.utter_message(response="utter_feedback_sorry")
        # The same offer as after "that didn't help" (a yes opens the handoff form; in a group, the link to a
        # private chat instead).
        return events + ActionOfferHandoff().run(dispatcher, tracker, domain)
