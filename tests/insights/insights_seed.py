"""Seeded conversations for the Insights tests: a description of each turn (what the user sent, what the bot
decided, whether a handoff started) turned into the events the running bot stores for it, in the order and
shape Rasa writes them, and written into a tracker store (SQLite or PostgreSQL).

The expected figures are counted from the descriptions (`SeedTurn`), never from the events: the tests compare
what bot/analytics reads back from the store with what was put in.

A module name of its own: test modules cannot import from `conftest`, as several test folders have one.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, insert

from bot.settings import PROJECT_ROOT
from tests.web.web_helpers import Backoffice

# The scripts' API token of the test back office, and the fixture that starts one on a tracker store URL.
API_TOKEN = "insights-test-token-0123456789abcdef"
StartBackoffice = Callable[[str], Awaitable[Backoffice]]
RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
RASA_WRITER = Path(__file__).resolve().parent / "rasa_writer.py"
FACTS = ("about_what", "priorities_all", "timeline_overview", "project_overview", "contact_overview")
# Rasa's table, as SQLTrackerStore creates it (rasa/core/tracker_store.py, SQLEvent).
_metadata = MetaData()
EVENTS = Table(
    "events",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


@dataclass
class SeedTurn:
    """One user message and the bot's handling of it, as the test means it.

    outcome: "answered" | "dont_know" | "choose" (a question back) | None (no action_answer: a greeting or a
    handoff form answer). handoff: "started" (action_human and the form) | "group" (action_human in a group:
    no form) | "submitted" (the form's last answer, a ticket stored) | "cancelled" (submission without a ticket)
    | None. language: the conversation's language after this message; detected: the message itself told
    it (a `language` SlotSet follows it). new_session: Rasa started a new session before this message.
    hedged: an answer said to be uncertain. helpful: this message is a press of a feedback button (Yes: True,
    No: False) under the latest answer before it (actions/feedback.py).
    """

    at: datetime
    text: str
    intent: str
    language: str
    detected: bool = True
    outcome: str | None = None
    fact: str | None = None
    button: bool = False
    handoff: str | None = None
    new_session: bool = False
    hedged: bool = False
    helpful: bool | None = None
    # The handoff form was still asking when this message came (a name, a phone number typed into it). A form
    # opened by a "started" turn is otherwise closed before the next message that is not its answer.
    in_form: bool = False


@dataclass
class SeedConversation:
    sender_id: str
    channel: str  # web | telegram | rest, as the page names them
    turns: list[SeedTurn] = field(default_factory=list)

    @property
    def input_channel(self) -> str:
        return {"web": "socketio", "telegram": "telegram", "rest": "rest"}[self.channel]


def _action(name: str, at: float) -> dict[str, Any]:
    return {
        "event": "action",
        "timestamp": at,
        "name": name,
        "policy": None,
        "confidence": None,
        "action_text": None,
        "hide_rule_turn": False,
    }


def _slot(name: str, value: Any, at: float) -> dict[str, Any]:
    return {"event": "slot", "timestamp": at, "name": name, "value": value}


def _bot(text: str, at: float) -> dict[str, Any]:
    return {"event": "bot", "timestamp": at, "metadata": {"utter_action": "utter_x"}, "text": text, "data": {}}


def answer_ref(index: int) -> str:
    """The feedback reference of the answer of a conversation's turn `index` (10 characters, as the bot's)."""
    return f"ref{index:07d}"


def decision(turn: SeedTurn, channel: str, index: int = 0) -> dict[str, Any]:
    """The `last_decision` value actions/actions.py `_decision_record` stores for such a turn."""
    answered = turn.outcome == "answered"
    return {
        "ref": answer_ref(index),
        "hedged": answered and turn.hedged,
        "kind": "choose" if turn.outcome == "choose" else "answer",
        "answered": answered,
        "fact": turn.fact if answered else None,
        "item": turn.fact,
        "score": 0.8123 if answered else 0.4012,
        "confidence": 0.21,
        "reason": "answer" if answered else "best score 0.401 below 0.55",
        "how": "button" if turn.button else "question",
        "options": list(FACTS[:2]) if turn.outcome == "choose" else [],
        "language": turn.language,
        "channel": channel,
    }


def events_of(conversation: SeedConversation) -> list[dict[str, Any]]:
    """The events the bot stores for the conversation, in order, as Rasa's Event.as_dict() gives them."""
    events: list[dict[str, Any]] = []
    slots: dict[str, Any] = {}
    answers: list[dict[str, Any]] = []
    for index, turn in enumerate(conversation.turns):
        at = turn.at.timestamp()
        tick = iter(at + n / 1000 for n in range(1, 100))
        if index == 0 or turn.new_session:
            start = at - 0.5
            events += [_action("action_session_start", start), {"event": "session_started", "timestamp": start}]
            # carry_over_slots_to_new_session (domain.yml): every slot with a value is set again.
            events += [_slot(name, value, start) for name, value in slots.items()]
            events.append(_action("action_listen", start))
        parse_data = {
            "intent": {"name": turn.intent, "confidence": 0.97},
            "entities": [{"entity": "fact_id", "value": turn.fact}] if turn.button else [],
            "text": turn.text,
            "message_id": f"m{index}",
            "metadata": {},
            "intent_ranking": [{"name": turn.intent, "confidence": 0.97}],
        }
        events.append(
            {
                "event": "user",
                "timestamp": at,
                "text": turn.text,
                "parse_data": parse_data,
                "input_channel": conversation.input_channel,
                "message_id": f"m{index}",
                "metadata": {},
            }
        )
        events.append(_action("action_extract_slots", next(tick)))
        if turn.detected:
            events.append(_slot("language", turn.language, next(tick)))
            slots["language"] = turn.language
        if turn.outcome is not None:
            events += [_action("action_answer", next(tick)), _bot("…", next(tick))]
            events.append(_slot("failed_answers", 0.0 if turn.outcome != "dont_know" else 1.0, next(tick)))
            value = decision(turn, conversation.input_channel, index)
            events.append(_slot("last_decision", value, next(tick)))
            slots["last_decision"] = value
            if value["answered"]:
                answers.append(value)
        if turn.helpful is not None and answers:
            judged = answers[-1]
            events += [_action("action_answer_feedback", next(tick)), _bot("…", next(tick))]
            record = {key: judged.get(key) for key in ("ref", "fact", "item", "hedged", "language", "channel")}
            events.append(_slot("answer_feedback", {**record, "helpful": turn.helpful}, next(tick)))
            slots["answer_feedback"] = {**record, "helpful": turn.helpful}
        if turn.handoff in ("started", "group"):
            events += [_action("action_human", next(tick)), _bot("…", next(tick))]
            events.append(_slot("handoff_offered", False, next(tick)))
            if turn.handoff == "started":
                events += [
                    _action("handoff_form", next(tick)),
                    {"event": "active_loop", "timestamp": next(tick), "name": "handoff_form"},
                    _slot("requested_slot", "handoff_question", next(tick)),
                ]
                following = conversation.turns[index + 1] if index + 1 < len(conversation.turns) else None
                answers_form = following is not None and (
                    following.in_form or following.handoff in ("submitted", "cancelled")
                )
                if following is not None and not answers_form:
                    # The user left the form (cancelled it) before asking on: the form is no longer active.
                    events += [
                        {"event": "active_loop", "timestamp": next(tick), "name": None},
                        _slot("requested_slot", None, next(tick)),
                    ]
        elif turn.handoff in ("submitted", "cancelled"):
            events += [
                _action("handoff_form", next(tick)),
                _slot("handoff_confirm", turn.handoff == "submitted", next(tick)),
                {"event": "active_loop", "timestamp": next(tick), "name": None},
                _slot("requested_slot", None, next(tick)),
                _action("action_submit_handoff", next(tick)),
                _bot("…", next(tick)),
            ]
            if turn.handoff == "submitted":
                reference = "RIS3-" + conversation.sender_id.split(":", 1)[1]
                events.append(_slot("handoff_reference", reference, next(tick)))
        events.append(_action("action_listen", next(tick)))
    return events


def rows_of(conversation: SeedConversation) -> list[dict[str, Any]]:
    """The rows SQLTrackerStore.save writes for the events (rasa/core/tracker_store.py)."""
    rows = []
    for event in events_of(conversation):
        rows.append(
            {
                "sender_id": conversation.sender_id,
                "type_name": event["event"],
                "timestamp": event.get("timestamp"),
                "intent_name": (event.get("parse_data") or {}).get("intent", {}).get("name"),
                "action_name": event.get("name"),
                "data": json.dumps(event),
            }
        )
    return rows


def write_rows(url: str, conversations: Iterable[SeedConversation]) -> None:
    """Inserts the rows directly (what SQLTrackerStore does, without Rasa)."""
    engine = create_engine(url)
    try:
        _metadata.create_all(engine)
        with engine.begin() as connection:
            for conversation in conversations:
                connection.execute(insert(EVENTS), rows_of(conversation))
    finally:
        engine.dispose()


def write_with_rasa(url: str, conversations: Iterable[SeedConversation]) -> None:
    """Saves the conversations with Rasa's own SQLTrackerStore (.venv-rasa), as the running bot does."""
    request = {"url": url, "conversations": [{"sender_id": c.sender_id, "events": events_of(c)} for c in conversations]}
    subprocess.run(
        [str(RASA_PYTHON), str(RASA_WRITER)], input=json.dumps(request), text=True, check=True, timeout=300,
        capture_output=True,
    )


def write(url: str, conversations: list[SeedConversation]) -> str:
    """Writes with Rasa when its environment is set up, else directly; returns which ("rasa" or "rows")."""
    if RASA_PYTHON.is_file():
        write_with_rasa(url, conversations)
        return "rasa"
    write_rows(url, conversations)
    return "rows"


def seeded_conversations(seed: int, start: datetime, days: int, count: int = 60) -> list[SeedConversation]:
    """`count` conversations over `days` days from `start` (UTC), some beginning before it and some running
    past its end, in all channels and both languages, with every kind of turn."""
    rng = random.Random(seed)
    conversations = []
    for number in range(count):
        channel = rng.choice(("web", "web", "telegram", "rest"))
        prefix = {"web": "web:", "telegram": "telegram:", "rest": "rest:"}[channel]
        conversation = SeedConversation(f"{prefix}{seed}-{number:03d}", channel)
        language = rng.choice(("en", "fi"))
        at = start + timedelta(days=rng.uniform(-1.5, days + 1.0))
        detected_once = False
        for position in range(rng.randint(1, 7)):
            at += timedelta(minutes=rng.choice((0.2, 1, 3, 50, 90, 600)))
            new_session = position > 0 and rng.random() < 0.2
            if rng.random() < 0.15:  # switched language mid-conversation
                language = "fi" if language == "en" else "en"
            # A message that does not tell its language keeps the conversation's (here only after it was set,
            # or when it is the slot's initial "en").
            detected = not detected_once or rng.random() < 0.6
            if not detected and language != conversation.turns[-1].language:
                detected = True
            detected_once = True
            kind = rng.random()
            if kind < 0.45:
                turn = SeedTurn(at, "what is ris3?", "ask_about", language, detected, "answered", rng.choice(FACTS))
            elif kind < 0.6:
                fact = rng.choice(FACTS)
                payload = f'/answer_fact{{"fact_id":"{fact}"}}'
                turn = SeedTurn(at, payload, "answer_fact", language, detected, "answered", fact, button=True)
            elif kind < 0.72:
                turn = SeedTurn(at, "what is the weather?", "nlu_fallback", language, detected, "dont_know")
            elif kind < 0.78:
                turn = SeedTurn(at, "the project", "follow_up", language, detected, "choose")
            elif kind < 0.85:
                turn = SeedTurn(at, "hello", "greet", language, detected)
            elif kind < 0.92:
                handoff = "group" if channel == "telegram" and rng.random() < 0.3 else "started"
                turn = SeedTurn(at, "can I talk to a person", "ask_human", language, detected, handoff=handoff)
            else:
                handoff = rng.choice(("submitted", "submitted", "cancelled"))
                turn = SeedTurn(at, "yes", "affirm", language, detected, handoff=handoff)
            turn.new_session = new_session
            if turn.outcome == "answered" and not turn.button:
                turn.hedged = rng.random() < 0.2  # the closest fact, said to be uncertain
            conversation.turns.append(turn)
            if turn.outcome == "answered" and rng.random() < 0.4:  # its feedback buttons pressed
                helpful = rng.random() < 0.6
                word = "yes" if helpful else "no"
                ref = answer_ref(len(conversation.turns) - 1)
                payload = f'/answer_feedback{{"helpful":"{word}","answer_ref":"{ref}"}}'
                at += timedelta(minutes=0.5)
                conversation.turns.append(SeedTurn(at, payload, "answer_feedback", language, False, helpful=helpful))
        conversations.append(conversation)
    return conversations


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)  # type: ignore[misc]
