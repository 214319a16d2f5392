"""User turns read back from Rasa's SQL tracker store: one `TurnRecord` per user message, with what the bot
recorded about it as structured data (never recovered by matching reply text).

A turn is a user event and the events after it in the same conversation, up to the next user event, the next
session start or a restart. In it:

- the decision: the value of the last `last_decision` SlotSet (set by every `action_answer`, see
  actions/actions.py `_decision_record`): `{kind, answered, fact, item, score, confidence, reason, how, options,
  language, channel}`; None when the turn ran no `action_answer` (a greeting, a handoff form's answer, …).
  A session start is a boundary because Rasa then re-sets every carried-over slot, `last_decision` included:
  that copy belongs to no turn;
- a button: the message is a fact button's payload (intent `answer_fact`, text "/answer_fact…");
- a handoff started: `action_human` ran and the handoff form was activated (in a Telegram group
  `action_human` only gives the link to a private chat: no form, not counted);
- a handoff submitted: `action_submit_handoff` ran and set `handoff_reference` (a ticket was stored; a
  cancelled or failed submission sets no reference);
- the form question the message answers: the `requested_slot` a form had set when the message came (e.g.
  "handoff_name": the message is the user's name, personal data and not a question to the bot);
- a form answer: a form of the handoff (the request or an addition to it) was active when the message came: a
  name, a phone number, a question for the project manager; never a question to the bot;
- feedback: the turn is a press of an answer's feedback button (slot `answer_feedback`, actions/feedback.py:
  `{ref, helpful, fact, …}`); the verdict is also put with the answer it names (`helpful` of the turn whose
  decision has that `ref`, in the same conversation, wherever the press falls in the period).

The language is the decision's, else the `language` slot as it stands at the end of the turn (the slot's
initial value "en" when never set). The channel comes from the conversation id's prefix ("web:", "telegram:",
"rest:", bot/channels/conversation_ids.py), else from the user event's input channel.

SQLAlchemy Core on Rasa's `events` table (id, sender_id, type_name, timestamp, intent_name, action_name,
data): SQLite and PostgreSQL alike. Read-only; a missing SQLite file reads as no turns and is not created.
Python 3.10 compatible (the module may be used from the Rasa runtime too).

Stable interface (the Insights page and the Review queue build on it): `load_turns`, `TurnRecord`,
`turns_from_rows`, `CHANNELS`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, inspect, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.handoff.conversations import TrackerStoreUnavailable

logger = logging.getLogger(__name__)

WEB, TELEGRAM, REST, OTHER = "web", "telegram", "rest", "other"
# The channels a conversation id can name, in the order the page shows them.
CHANNELS = (WEB, TELEGRAM, REST)
# Rasa's input channel names of the three channels ("socketio" is the website chat's, bot/channels/web_chat.py).
_INPUT_CHANNELS = {"socketio": WEB, "web": WEB, "telegram": TELEGRAM, "rest": REST}
DEFAULT_LANGUAGE = "en"  # the `language` slot's initial value (domain.yml)
BUTTON_INTENT = "answer_fact"
HANDOFF_OPEN_ACTION = "action_human"
HANDOFF_SUBMIT_ACTION = "action_submit_handoff"
HANDOFF_FORM = "handoff_form"
# The forms whose answers are personal details or a message for the project manager, not questions to the bot.
FORMS = (HANDOFF_FORM, "handoff_addition_form")
FEEDBACK_INTENT = "answer_feedback"
# The event types a turn is made of; the bot's messages are not read (their text is not needed).
_READ_TYPES = ("user", "slot", "action", "active_loop", "session_started", "restart")
SLOTS_READ = ("language", "last_decision", "handoff_reference", "answer_feedback", "requested_slot")

# Only the columns read here; the table is Rasa's and is never created or changed here.
_events = Table(
    "events",
    MetaData(),
    Column("id", Integer),
    Column("sender_id", String),
    Column("type_name", String),
    Column("timestamp", Float),
    Column("intent_name", String),
    Column("action_name", String),
    Column("data", Text),
)


@dataclass(frozen=True)
class TurnRecord:
    """One user message and what the bot recorded about it.

    event_id: the user event's row id in the tracker store (unique per store: a stable key for a turn).
    conversation_id: Rasa's sender id, e.g. "web:…" (personal: never shown outside the signed-in back office).
    channel: "web" | "telegram" | "rest" | "other".
    time: when the message arrived, timezone-aware UTC.
    text: what the user typed, or a button's payload ("/answer_fact{…}"): personal data, never aggregated.
    intent: the NLU's intent name (None when not recorded).
    language: "en" | "fi" (see the module's docstring).
    decision: the turn's `last_decision` dict, or None.
    button: a fact button was pressed.
    handoff_started / handoff_submitted: see the module's docstring; handoff_reference: the ticket's reference.
    form_slot: the slot a form asked for when the message came ("handoff_name", …), or None.
    form_answer: the message answered a handoff form's question (see the module's docstring).
    feedback: this turn is a feedback press: its `answer_feedback` record, else None.
    helpful: what the user said of this turn's answer with its feedback buttons (True / False), else None.
    """

    event_id: int
    conversation_id: str
    channel: str
    time: datetime
    text: str
    intent: str | None
    language: str
    decision: dict[str, Any] | None
    button: bool
    handoff_started: bool
    handoff_submitted: bool
    handoff_reference: str | None = None
    form_slot: str | None = None
    form_answer: bool = False
    feedback: dict[str, Any] | None = None
    helpful: bool | None = None

    @property
    def answered(self) -> bool:
        """The bot answered with a fact, plainly: an answer said to be uncertain (hedged) is not counted."""
        return bool(self.decision and self.decision.get("answered")) and not self.hedged

    @property
    def hedged(self) -> bool:
        """The bot gave its closest fact, said to be uncertain ("I'm not sure I understood")."""
        return bool(self.decision and self.decision.get("answered") and self.decision.get("hedged"))

    @property
    def dont_know(self) -> bool:
        """The bot was asked and could not answer: an `answer` decision without a fact. A question back
        ("choose" between options) or a "what else" offer is not a failure, nor is anything typed into a handoff
        form (a name, a phone number)."""
        return (
            bool(self.decision)
            and not self.form_answer
            and self.decision.get("kind") == "answer"
            and not self.decision.get("answered")
        )

    @property
    def fact(self) -> str | None:
        return self.decision.get("fact") if self.decision else None


def channel_of(conversation_id: str, input_channel: str | None = None) -> str:
    prefix = conversation_id.split(":", 1)[0] if ":" in conversation_id else ""
    if prefix in CHANNELS:
        return prefix
    return _INPUT_CHANNELS.get(input_channel or "", OTHER)


def _bounds(first: date, last: date, zone: tzinfo) -> tuple[float, float]:
    """Unix seconds of the first day's start and the day after the last one's start, as days in `zone`."""
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(last + timedelta(days=1), time(), zone)
    return start.timestamp(), end.timestamp()


class _Turn:
    """A turn being read: the user event and what followed so far."""

    def __init__(
        self,
        row_id: int,
        sender: str,
        timestamp: float,
        intent: str | None,
        event: dict[str, Any],
        in_form: bool = False,
        form_slot: str | None = None,
    ) -> None:
        self.row_id, self.sender, self.timestamp = row_id, sender, timestamp
        self.in_form = in_form
        self.form_slot = form_slot
        self.feedback: dict[str, Any] | None = None
        self.text = str(event.get("text") or "")
        parsed = event.get("parse_data") or {}
        self.intent = intent or ((parsed.get("intent") or {}).get("name") if isinstance(parsed, dict) else None)
        self.input_channel = event.get("input_channel")
        self.decision: dict[str, Any] | None = None
        self.human = self.form = self.submit = False
        self.reference: str | None = None

    def record(self, language: str) -> TurnRecord:
        decided = self.decision.get("language") if self.decision else None
        return TurnRecord(
            event_id=self.row_id,
            conversation_id=self.sender,
            channel=channel_of(self.sender, self.input_channel),
            time=datetime.fromtimestamp(self.timestamp, timezone.utc),
            text=self.text,
            intent=self.intent,
            language=decided if isinstance(decided, str) and decided else language,
            decision=self.decision,
            button=self.intent == BUTTON_INTENT or self.text.startswith("/" + BUTTON_INTENT),
            handoff_started=self.human and self.form,
            handoff_submitted=self.submit and bool(self.reference),
            handoff_reference=self.reference if self.submit else None,
            form_slot=self.form_slot,
            form_answer=self.in_form,
            feedback=self.feedback if self.intent == FEEDBACK_INTENT else None,
        )


def _decode(data: str | None) -> dict[str, Any]:
    try:
        event = json.loads(data or "{}")
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


def with_verdicts(records: list[TurnRecord]) -> list[TurnRecord]:
    """One conversation's turns, each answer with the verdict its feedback buttons got (the first press counts,
    as actions/feedback.py records only the first)."""
    verdicts: dict[str, bool] = {}
    for record in records:
        ref = record.feedback.get("ref") if record.feedback else None
        if isinstance(ref, str) and ref not in verdicts and isinstance(record.feedback.get("helpful"), bool):
            verdicts[ref] = record.feedback["helpful"]
    if not verdicts:
        return records
    return [
        replace(record, helpful=verdicts[ref])
        if record.decision and isinstance(ref := record.decision.get("ref"), str) and ref in verdicts
        else record
        for record in records
    ]


def turns_from_rows(
    rows: Iterable[tuple[int, str, str, float | None, str | None, str | None, str | None]],
    start: float | None = None,
    end: float | None = None,
) -> Iterator[TurnRecord]:
    """Turns from `events` rows (id, sender_id, type_name, timestamp, intent_name, action_name, data) as Rasa
    writes them (action_name: an action's, a slot's or a loop's name), sorted by sender_id then id; only
    turns whose user event is in [start, end) (Unix seconds) are yielded. The rows before `start` are still
    needed: they carry the conversation's language; those after `end`, feedback on the answers in it."""
    sender: str | None = None
    language = DEFAULT_LANGUAGE
    loop: str | None = None  # the active loop (form), as the events last set it
    requested: str | None = None  # the slot a form is asking for, as the conversation stands
    turn: _Turn | None = None
    conversation: list[TurnRecord] = []  # one conversation's turns, until its verdicts are known

    def close() -> None:
        nonlocal turn
        done, turn = turn, None
        if done is not None:
            conversation.append(done.record(language))

    def flush() -> Iterator[TurnRecord]:
        close()
        for record in with_verdicts(conversation):
            stamp = record.time.timestamp()
            if (start is None or stamp >= start) and (end is None or stamp < end):
                yield record
        conversation.clear()

    # The columns say an event's type and name (Rasa fills them from the event); only user events and the
    # few slots read here have their JSON decoded, as that is most of the time spent.
    for row_id, sender_id, type_name, timestamp, intent_name, action_name, data in rows:
        if sender_id != sender:
            yield from flush()
            sender, language, loop, requested = sender_id, DEFAULT_LANGUAGE, None, None
        if type_name == "user":
            close()
            event = _decode(data)
            stamp = float(timestamp or event.get("timestamp") or 0.0)
            turn = _Turn(row_id, sender_id, stamp, intent_name, event, in_form=loop in FORMS, form_slot=requested)
        elif type_name in ("session_started", "restart"):
            close()
            loop = None
            if type_name == "restart":  # a restart forgets the slots; a new session carries them over (domain.yml)
                language, requested = DEFAULT_LANGUAGE, None
        elif type_name == "slot" and action_name in SLOTS_READ:
            value = _decode(data).get("value")
            if action_name == "language" and isinstance(value, str) and value:
                language = value
            elif action_name == "requested_slot":
                requested = value if isinstance(value, str) and value else None
            elif turn is not None and action_name == "last_decision":
                turn.decision = value if isinstance(value, dict) else None
            elif turn is not None and action_name == "handoff_reference" and value:
                turn.reference = str(value)
            elif turn is not None and action_name == "answer_feedback" and isinstance(value, dict):
                turn.feedback = value
        elif type_name == "active_loop":
            loop = action_name or None
            if not action_name:  # a form ended (or was cancelled): no question of it is pending
                requested = None
            if turn is not None and action_name == HANDOFF_FORM:
                turn.form = True
        elif turn is not None and type_name == "action":
            turn.human = turn.human or action_name == HANDOFF_OPEN_ACTION
            turn.submit = turn.submit or action_name == HANDOFF_SUBMIT_ACTION
    yield from flush()


def load_turns(url: str, first: date, last: date, *, zone: tzinfo = timezone.utc) -> list[TurnRecord]:
    """The user turns from `first` to `last` (both included; calendar days in `zone`, UTC by default), in
    conversation order (by conversation id, then as they happened). `url` is a SQLAlchemy URL, usually
    HandoffSettings().tracker_database_url (RIS3_TRACKER_DATABASE_URL). Raises TrackerStoreUnavailable
    (whose message never quotes the URL, which may hold a password) when the store cannot be read."""
    if last < first:
        return []
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not (parsed.database and Path(parsed.database).is_file()):
        return []  # no conversation yet: nothing to read, and no empty database file made by looking
    start, end = _bounds(first, last, zone)
    # Conversations with a user message in the period, read whole: the language may have been set before it.
    senders = (
        select(_events.c.sender_id)
        .where(_events.c.type_name == "user", _events.c.timestamp >= start, _events.c.timestamp < end)
        .distinct()
    )
    query = (
        select(
            _events.c.id,
            _events.c.sender_id,
            _events.c.type_name,
            _events.c.timestamp,
            _events.c.intent_name,
            _events.c.action_name,
            _events.c.data,
        )
        .where(
            _events.c.sender_id.in_(senders),
            _events.c.type_name.in_(_READ_TYPES),
            or_(_events.c.type_name != "slot", _events.c.action_name.in_(SLOTS_READ)),
        )
        .order_by(_events.c.sender_id, _events.c.id)
    )
    engine = create_engine(parsed)
    try:
        if not inspect(engine).has_table("events"):
            return []
        with engine.connect() as connection:
            rows = connection.execution_options(stream_results=True, yield_per=2000).execute(query)
            return list(turns_from_rows((tuple(row) for row in rows), start, end))  # type: ignore[misc]
    except SQLAlchemyError as exc:
        # The type only: a driver's message may quote the URL, and the URL may hold a password.
        raise TrackerStoreUnavailable(
            f"reading conversations failed ({type(exc).__name__}): check RIS3_TRACKER_DATABASE_URL"
        ) from None
    finally:
        engine.dispose()
