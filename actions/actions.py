"""The custom actions. Facts come from bot.knowledge; the words around them from domain.yml."""

from __future__ import annotations

import logging
import os
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import feedback
from actions.common import language_of, send_knowledge_unavailable
from actions.group_chat import in_group_chat
from actions.handoff import YES_NO
from bot.knowledge.conversation import Turn, answer_turn
from bot.knowledge.currency import today, with_status
from bot.knowledge.followup import ConversationState
from bot.knowledge.index import IndexNotReady
from bot.knowledge.replies import Button, Reply, choice_reply, fact_reply, menu_buttons, reply_for
from bot.knowledge.service import KnowledgeService, check_index, get_service, warm_up_in_background
from bot.metrics.actions import count_decision

logger = logging.getLogger(__name__)
# Questions in a row the bot could not answer before it offers the project manager.
FAILURES_BEFORE_OFFER = 2

# Refuse to serve from a missing or stale index: better no action server than wrong answers.
try:
    check_index()
except IndexNotReady as exc:
    raise SystemExit(f"The action server cannot start: {exc}") from exc

# Sanic imports this module in its worker process too; load the model there, before the first user.
if os.environ.get("SANIC_WORKER_NAME"):
    warm_up_in_background()


def _service(dispatcher: CollectingDispatcher) -> KnowledgeService | None:
    try:
        return get_service()
    except IndexNotReady:
        logger.exception("knowledge unavailable")
        send_knowledge_unavailable(dispatcher)
        return None


# Telegram opens only http(s) links from a button and refuses a message with a tel: one; its apps make the
# phone number in the text itself tappable instead.
_LINK_SCHEMES = {"telegram": ("https://", "http://")}


def _send(dispatcher: CollectingDispatcher, reply: Reply, channel: str | None = None) -> None:
    schemes = _LINK_SCHEMES.get(channel or "")
    buttons = [b for b in reply.buttons if not (b.url and schemes and not b.url.startswith(schemes))]
    messages = [(reply.response, reply.variables), *reply.notes]
    for n, (response, variables) in enumerate(messages):
        under = [b.as_message() for b in buttons] if n == len(messages) - 1 else []
        dispatcher.utter_message(response=response, buttons=under, **variables)


def conversation_state(tracker: Tracker) -> ConversationState:
    listed = tracker.get_slot("listed")
    return ConversationState(
        last_fact=tracker.get_slot("last_fact") or None,
        listed=tuple(str(f) for f in listed) if isinstance(listed, list) else (),
    )


def _listed(service: KnowledgeService, reply: Reply, previous: tuple[str, ...] = ()) -> list[str]:
    """What "the second one" will mean after this reply: the last list the user saw as a list. That is the
    facts its answer enumerates; or, for an answer about an item of the list seen before (a button under it
    pressed), still that list, not the buttons left under the answer; else its buttons."""
    fact = service.index.facts.get(reply.fact_id or "") if reply.answered else None
    if fact is not None and fact.lists:
        return list(fact.lists)
    if fact is not None and fact.id in previous:
        return list(previous)
    return [p.split('"fact_id":"', 1)[1].split('"', 1)[0] for b in reply.buttons if '"fact_id":"' in (p := b.payload)]


def _reply_for_turn(service: KnowledgeService, turn: Turn, language: str) -> Reply:
    if turn.kind == "choose" and turn.decision is not None:
        # Not sure enough to answer: "Do you mean …?" with the likely facts, and a way to a person.
        return choice_reply(service.index, turn.options, language, "utter_did_you_mean", none_of_these=True)
    if turn.kind == "choose":
        return choice_reply(service.index, turn.options, language, "utter_which_one")
    if turn.kind == "what_else":
        return choice_reply(service.index, turn.options, language, "utter_what_else")
    if turn.kind == "all_said":
        reply = choice_reply(service.index, turn.options, language, "utter_all_said")
        fact = service.index.facts[turn.facts[0]]
        reply.variables["subject"] = service.index.knowledge.subject(fact.id, language) or (
            fact.title.get(language) or fact.title["en"])
        return reply
    assert turn.decision is not None
    return reply_for(turn.decision, service.index, language)


def _decision_record(turn: Turn, reply: Reply, language: str, channel: str | None) -> dict[str, Any]:
    """The decision as data kept with the conversation (slot last_decision): what staff views count."""
    decision = turn.decision
    best = decision.best if decision else None
    return {
        "kind": turn.kind,
        "answered": reply.answered,
        "fact": reply.fact_id if reply.answered else None,
        "item": best.item if best else None,
        "score": round(best.score, 4) if best else None,
        "confidence": round(decision.confidence, 4) if decision and decision.confidence is not None else None,
        # Kept for the records' readers (Insights, Review): an answer is never given with a hedge any more.
        "hedged": False,
        "reason": decision.reason if decision else turn.how,
        "how": turn.how,
        "options": list(turn.options),
        "language": language,
        "channel": channel,
        # Names this answer for its feedback buttons (actions/feedback.py).
        "ref": feedback.new_ref(),
    }


class ActionAnswer(Action):
    def name(self) -> str:
        return "action_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        service = _service(dispatcher)
        if service is None:
            return []
        language = language_of(tracker)
        message = tracker.latest_message or {}
        intent, confidence = _intent(message)
        fact_id = next(tracker.get_latest_entity_values("fact_id"), None)
        channel = tracker.get_latest_input_channel()
        events: list[dict] = []
        if intent == "answer_fact" and fact_id in service.index.facts:
            reply = fact_reply(service.index, fact_id, language)
            turn = Turn("answer", how="button")
        else:
            text = message.get("text") or ""
            turn = answer_turn(service.retriever, text, conversation_state(tracker), language, intent, confidence)
            reply = _reply_for_turn(service, turn, language)
            reply = with_status(reply, text, service.index, language, today())
            best = turn.decision.best if turn.decision else None
            logger.info(
                "kind=%s how=%s answer=%s reason=%s item=%s score=%s intent=%s(%.2f) language=%s",
                turn.kind, turn.how, reply.answered, turn.decision.reason if turn.decision else "-",
                best.item if best else None, f"{best.score:.3f}" if best else None, intent, confidence, language,
            )
        if reply.answered or turn.kind != "answer":
            # A question back is not a failure: the user is helped to say which.
            events.append(SlotSet("failed_answers", 0.0))
        else:
            failures = float(tracker.get_slot("failed_answers") or 0.0) + 1
            events.append(SlotSet("failed_answers", failures))
            # Twice in a row the bot could not help: offer the project manager instead of the menu; not in a
            # Telegram group, where the handoff cannot happen (the reply already gives the contact, and asking
            # for a person there gives the link to a private chat).
            if failures >= FAILURES_BEFORE_OFFER and not in_group_chat(tracker):
                reply.response = "utter_dont_know_offer"
                # Yes or no first; the phone number the offer gives stays a link.
                yes_no = [Button(b["title"], b["payload"]) for b in YES_NO[language]]
                reply.buttons = yes_no + [b for b in reply.buttons if b.url]
                events.append(SlotSet("handoff_offered", True))
        if reply.answered and reply.fact_id:
            events.append(SlotSet("last_fact", reply.fact_id))
        events.append(SlotSet("listed", _listed(service, reply, conversation_state(tracker).listed)))
        decision = _decision_record(turn, reply, language, channel)
        events.append(SlotSet("last_decision", decision))
        count_decision(decision)
        _send(dispatcher, reply, channel)
        if feedback.should_ask(decision, tracker):
            feedback.ask(dispatcher, decision)
        return events


class ActionSwitchLanguage(Action):
    """"In English please" / "entä suomeksi?": says so and, right after an answer, gives it again in the
    new language."""

    def name(self) -> str:
        return "action_switch_language"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        dispatcher.utter_message(response="utter_language_switched")
        last_fact = tracker.get_slot("last_fact")
        if not last_fact or _previous_action(tracker) not in ("action_answer", "action_switch_language"):
            return []
        service = _service(dispatcher)
        if service is None or last_fact not in service.index.facts:
            return []
        reply = fact_reply(service.index, last_fact, language_of(tracker))
        _send(dispatcher, reply, tracker.get_latest_input_channel())
        return [SlotSet("listed", _listed(service, reply))]


def _previous_action(tracker: Tracker) -> str | None:
    """The bot's last action before the current user message."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name")
    return None


def _intent(message: dict[str, Any]) -> tuple[str | None, float]:
    """The NLU's intent; under a fallback, the best real intent it was unsure about."""
    ranking = [i for i in message.get("intent_ranking") or [] if i.get("name") != "nlu_fallback"]
    intent = message.get("intent") or {}
    if intent.get("name") == "nlu_fallback" and ranking:
        intent = ranking[0]
    return intent.get("name"), float(intent.get("confidence") or 0.0)


class _MenuReply:
    """A response followed by the topic buttons. Not an Action itself: rasa_sdk registers every
    Action subclass by its name."""

    response = ""

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        service = _service(dispatcher)
        buttons = menu_buttons(service.index, language_of(tracker)) if service else []
        _send(dispatcher, Reply(self.response, buttons=buttons), tracker.get_latest_input_channel())
        # "The second one" after the topics refers to the second topic button.
        return [SlotSet("listed", list(service.index.knowledge.menu))] if service else []


class ActionGreet(_MenuReply, Action):
    response = "utter_greet"

    def name(self) -> str:
        return "action_greet"


class ActionHelp(_MenuReply, Action):
    response = "utter_help"

    def name(self) -> str:
        return "action_help"
