"""The custom actions. Facts come from bot.knowledge; the words around them from domain.yml."""

from __future__ import annotations

import logging
import os
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.knowledge.index import IndexNotReady
from bot.knowledge.replies import Reply, contact_text, fact_reply, menu_buttons, reply_for
from bot.knowledge.service import KnowledgeService, check_index, get_service, warm_up_in_background

logger = logging.getLogger(__name__)
LANGUAGE = "en"

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
        dispatcher.utter_message(response="utter_knowledge_unavailable")
        return None


def _send(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    dispatcher.utter_message(
        response=reply.response,
        buttons=[{"title": b.title, "payload": b.payload} for b in reply.buttons],
        **reply.variables,
    )


class ActionAnswer(Action):
    def name(self) -> str:
        return "action_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        service = _service(dispatcher)
        if service is None:
            return []
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name")
        confidence = float((message.get("intent") or {}).get("confidence") or 0.0)
        fact_id = next(tracker.get_latest_entity_values("fact_id"), None)
        if intent == "answer_fact" and fact_id in service.index.facts:
            reply = fact_reply(service.index, fact_id, LANGUAGE)
        else:
            text = message.get("text") or ""
            decision = service.retriever.decide(text, intent, confidence)
            reply = reply_for(decision, service.index, LANGUAGE)
            best = decision.best
            logger.info(
                "answer=%s reason=%s item=%s score=%s intent=%s(%.2f)",
                decision.answer, decision.reason, best.item if best else None,
                f"{best.score:.3f}" if best else None, intent, confidence,
            )
        _send(dispatcher, reply)
        return []


class ActionGreet(Action):
    def name(self) -> str:
        return "action_greet"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        service = _service(dispatcher)
        buttons = menu_buttons(service.index, LANGUAGE) if service else []
        _send(dispatcher, Reply("utter_greet", buttons=buttons))
        return []


class ActionHelp(Action):
    def name(self) -> str:
        return "action_help"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        service = _service(dispatcher)
        buttons = menu_buttons(service.index, LANGUAGE) if service else []
        _send(dispatcher, Reply("utter_help", buttons=buttons))
        return []


class ActionHuman(Action):
    def name(self) -> str:
        return "action_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        service = _service(dispatcher)
        if service is None:
            return []
        _send(dispatcher, Reply("utter_human", {"contact": contact_text(service.index, LANGUAGE)}))
        return []
