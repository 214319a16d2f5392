"""What the Review tests share besides fixtures (a module name of its own: test modules cannot import from
`conftest`, as several test folders have one): turns as bot/analytics/turns.py reads them, the same turns written
into a tracker store as Rasa writes them, a fake embedder, and a copy of the knowledge to change."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, insert

from bot.analytics.review import LockedEmbedder, ReviewConfig, ReviewDesk
from bot.analytics.turns import TurnRecord
from bot.knowledge.index import IndexNotReady, build_index, load_index
from bot.runtime import BotProcesses
from bot.settings import PROJECT_ROOT, get_settings
from tests.conftest import post_message

REPO_KNOWLEDGE = PROJECT_ROOT / "knowledge"
REPO_CASES = PROJECT_ROOT / "tests" / "faq" / "cases"
NLU_DIR = PROJECT_ROOT / "data" / "nlu"
API_TOKEN = "review-test-token-0123456789abcdef0123"
NOW = datetime.now(timezone.utc).replace(microsecond=0)
# The fixtures' types (conftest.py): make_desk(build=…, **config changes) and start_backoffice(desk, rasa_url=…).
MakeDesk = Callable[..., Any]
StartBackoffice = Callable[..., Any]


def copy_knowledge(target: Path, with_index: bool = False) -> Path:
    """knowledge/ copied for a test to change (never the repository's own); the index only if asked."""
    ignore = shutil.ignore_patterns("drafts", ".*") if with_index else shutil.ignore_patterns("index", "drafts", ".*")
    shutil.copytree(REPO_KNOWLEDGE, target, ignore=ignore)
    return target


def copy_cases(target: Path) -> Path:
    shutil.copytree(REPO_CASES, target)
    return target


# --- turns --------------------------------------------------------------------------------------------------------


def decision(
    answered: bool,
    item: str | None = "about_what",
    confidence: float | None = 0.2,
    hedged: bool = False,
    kind: str = "answer",
    language: str = "en",
    how: str = "question",
) -> dict[str, Any]:
    """A `last_decision` value as actions/actions.py `_decision_record` stores it."""
    return {
        "kind": kind,
        "answered": answered,
        "fact": item if answered else None,
        "item": item,
        "score": 0.61,
        "confidence": confidence,
        "hedged": hedged,
        "reason": "test",
        "how": how,
        "options": [],
        "language": language,
        "channel": "rest",
    }


_ids = iter(range(1, 10**9))


def turn(
    text: str,
    conversation: str = "web:c1",
    *,
    at: datetime | None = None,
    language: str = "en",
    outcome: dict[str, Any] | None = None,
    button: bool = False,
    handoff: bool = False,
) -> TurnRecord:
    channel = conversation.split(":", 1)[0]
    return TurnRecord(
        event_id=next(_ids),
        conversation_id=conversation,
        channel=channel,
        time=at or NOW,
        text=text,
        intent="ask",
        language=language,
        decision=outcome,
        button=button,
        handoff_started=handoff,
        handoff_submitted=False,
    )


def declined(text: str, conversation: str = "web:c1", language: str = "en", **extra: Any) -> TurnRecord:
    return turn(text, conversation, language=language, outcome=decision(False, language=language), **extra)


# --- the same as rows of a tracker store -------------------------------------------------------------------------

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
class Asked:
    """One user message of a seeded conversation and what the bot did with it."""

    text: str
    outcome: dict[str, Any] | None = None
    handoff: bool = False
    minutes: float = 0.0  # after the conversation's start
    form_slot: str | None = None  # the form question it answers (Rasa's requested_slot when it came)


@dataclass
class Conversation:
    sender_id: str
    asked: list[Asked] = field(default_factory=list)
    start: datetime = NOW - timedelta(hours=2)


def _row(sender: str, type_name: str, at: float, event: dict[str, Any], intent: str | None = None,
         action: str | None = None) -> dict[str, Any]:
    return {"sender_id": sender, "type_name": type_name, "timestamp": at, "intent_name": intent,
            "action_name": action, "data": json.dumps({"event": type_name, "timestamp": at, **event})}


def rows_of(conversation: Conversation) -> list[dict[str, Any]]:
    """The rows Rasa's SQLTrackerStore writes for such a conversation (the types and columns turns.py reads)."""
    sender = conversation.sender_id
    start = conversation.start.timestamp()
    rows = [_row(sender, "session_started", start - 1, {})]
    for number, asked in enumerate(conversation.asked):
        at = start + asked.minutes * 60 + number * 0.01
        language = (asked.outcome or {}).get("language", "en")
        if asked.form_slot:
            rows.append(_row(sender, "slot", at - 0.005, {"name": "requested_slot", "value": asked.form_slot},
                             action="requested_slot"))
        rows.append(_row(sender, "user", at, {"text": asked.text, "input_channel": "rest",
                                                "parse_data": {"intent": {"name": "ask"}}}, intent="ask"))
        rows.append(_row(sender, "slot", at + 0.001, {"name": "language", "value": language}, action="language"))
        if asked.outcome is not None:
            rows.append(_row(sender, "action", at + 0.002, {"name": "action_answer"}, action="action_answer"))
            rows.append(_row(sender, "slot", at + 0.003, {"name": "last_decision", "value": asked.outcome},
                             action="last_decision"))
        if asked.handoff:
            rows.append(_row(sender, "action", at + 0.004, {"name": "action_human"}, action="action_human"))
            rows.append(_row(sender, "active_loop", at + 0.005, {"name": "handoff_form"}, action="handoff_form"))
    return rows


def write_conversations(url: str, conversations: list[Conversation]) -> None:
    engine = create_engine(url)
    try:
        _metadata.create_all(engine)
        with engine.begin() as connection:
            for conversation in conversations:
                connection.execute(insert(EVENTS), rows_of(conversation))
    finally:
        engine.dispose()


# --- a fake embedder: bag of words, hashed ----------------------------------------------------------------------

DIM = 256


class WordsEmbedder:
    """Deterministic unit vectors from a text's words (no model): texts sharing most words are close, so
    "is there a brochure in english" and "is there a brochure in english please" meet at 0.93."""

    def __init__(self, *_: Any) -> None:
        self.calls = 0

    def _encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        vectors = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.casefold()):
                vectors[row, int(hashlib.sha256(word.encode()).hexdigest(), 16) % DIM] += 1.0
            norm = np.linalg.norm(vectors[row])
            vectors[row] = vectors[row] / norm if norm else vectors[row]
        return vectors

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)


# --- the real bot on a copy of the knowledge -----------------------------------------------------------------------


class ReviewStack:
    """The Rasa server and action server answering from a copy of knowledge/ (RIS3_KNOWLEDGE_DIR,
    RIS3_INDEX_DIR), the FAQ cases copied beside it, and a desk of the back office on both."""

    def __init__(self, bot: BotProcesses, knowledge: Path, cases: Path, embedder: Any) -> None:
        self.bot, self.knowledge, self.cases = bot, knowledge, cases
        self.desk = ReviewDesk(
            ReviewConfig(
                knowledge_dir=knowledge,
                index_dir=knowledge / "index",
                embedding_model=get_settings().embedding_model,
                database_url=f"sqlite:///{knowledge.parent / 'handoff-review.db'}",
                tracker_url=f"sqlite:///{bot.workdir / 'tracker.db'}",
                cases_dir=cases,
                nlu_dir=NLU_DIR,
            ),
            LockedEmbedder(get_settings().embedding_model, factory=lambda _: embedder),
        )

    def ask(self, sender: str, text: str) -> str:
        return "\n".join(r.get("text") or "" for r in post_message(self.bot.url, sender, text))


@contextmanager
def running_stack(root: Path, smtp_port: int, embedder: Any) -> Iterator[ReviewStack]:
    """The real bot on a copy of the knowledge under `root` (its index too, built with `embedder` when the
    repository's is behind), its handoff mail to the local SMTP server on `smtp_port`; stopped afterwards."""
    knowledge = copy_knowledge(root / "knowledge", with_index=True)
    cases = copy_cases(root / "cases")
    model = get_settings().embedding_model
    try:
        load_index(knowledge, knowledge / "index", model)
    except IndexNotReady:  # the repository's index is behind its knowledge or code: build the copy's
        build_index(knowledge, knowledge / "index", model, embedder_factory=lambda _: embedder)
    bot = BotProcesses(
        env={
            "RIS3_KNOWLEDGE_DIR": str(knowledge),
            "RIS3_INDEX_DIR": str(knowledge / "index"),
            "RIS3_HANDOFF_SMTP_HOST": "127.0.0.1",
            "RIS3_HANDOFF_SMTP_PORT": str(smtp_port),
            "RIS3_HANDOFF_SMTP_FROM": "ris3-bot@example.fi",
            "RIS3_HANDOFF_MANAGER_EMAIL": "project.manager@example.fi",
            "RIS3_RATE_CONVERSATION_BURST": "30",
        }
    ).start()
    stack = ReviewStack(bot, knowledge, cases, embedder)
    try:
        deadline = time.monotonic() + 120
        while "Source:" not in stack.ask("warm-up", "what is smart specialisation?") and time.monotonic() < deadline:
            time.sleep(1)
        yield stack
    finally:
        stack.desk.close()
        bot.stop()
