"""The Review queue: the questions the bot did not handle well, grouped by meaning, for staff to decide on, and
what a decision changes (docs/review.md).

A question comes to the queue when its turn (bot/analytics/turns.py) was
- declined: an `answer` decision without an answer ("I don't know");
- hedged: the closest fact was given with "I'm not sure I understood";
- low confidence: answered, but the calibrated model's probability is below its threshold for the language
  (knowledge/decision_model.json; possible when the rules, not the model, had the last word);
- followed by a handoff: the last question of the conversation before the user asked for a person;
- not helpful: the user pressed "No" under its answer ("Did this answer your question?", actions/feedback.py).
Buttons, payloads ("/affirm"), answers typed into a handoff form and the back office's own "try it" conversations
are never questions here.

The same question typed alike (case, accents' composition and punctuation aside: bot.faq.cases.normalise) is one
question with a count; questions are grouped by meaning with the bot's own embedding model (see GROUP_SIMILARITY).
A group's id is a hash of its questions, so it names exactly what the staff saw.

A decision ("answered by fact X", "should have handed off", "out of scope", "needs a new fact") is stored in the
handoff database (tables review_decisions and review_questions, created here like the handoff's own tables, on
SQLite or PostgreSQL) with who and when; its questions never come back to the queue. Two decisions on one group:
the second is refused with who made the first (AlreadyDecided).

"Answered by fact X" adds the questions as keys of fact X in knowledge/facts.yml by inserting lines (comments and
layout stay; `git diff` shows only the new lines), and as FAQ cases in tests/faq/cases/learned_<lang>.yml whose
`expect` is a phrase only fact X's text has; the knowledge must still load and pass its checks, else nothing is
written. The index is then rebuilt on a thread (IndexRebuild) and switched in atomically (bot/knowledge/index.py);
the action server takes it up without a restart (bot/knowledge/service.py). "Needs a new fact" writes a draft for a
developer into knowledge/drafts/.

Runs in the back office (Python 3.11, the action runtime: it loads the embedding model).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import gc
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import yaml
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.analytics.labelled import LabelledQuestion, append_labelled
from bot.analytics.turns import REST, TurnRecord
from bot.faq.cases import CaseError, load_cases, nlu_examples, normalise, parse_cases
from bot.handoff.database import make_engine
from bot.handoff.redaction import redact
from bot.handoff.store import StoreUnavailable, upgrade
from bot.knowledge.store import LANGUAGES, Fact, Knowledge, KnowledgeError, load_knowledge
from bot.knowledge.text import STOPWORDS, words
from bot.memory_release import release_free_memory

logger = logging.getLogger(__name__)

# --- what comes to the queue ------------------------------------------------------------------------------------

DECLINED, HEDGED, LOW_CONFIDENCE, HANDOFF = "declined", "hedged", "low_confidence", "handoff"
NOT_HELPFUL = "not_helpful"
# Not sure enough to answer, the bot asked back ("Do you mean …?"); records before it could never say so
# are HEDGED (the fact was given, said to be uncertain).
ASKED_BACK = "asked_back"
REASONS = (DECLINED, ASKED_BACK, HEDGED, LOW_CONFIDENCE, HANDOFF, NOT_HELPFUL)
# The question a handoff is put down to: the conversation's last question at most this long before it.
HANDOFF_LOOKBACK = timedelta(minutes=30)
# What a user types at these form questions is personal data (a name, an address, a message for the project
# manager), never a question for the queue, even when the bot took it for one.
PERSONAL_FORM_SLOTS = frozenset({"handoff_name", "handoff_contact", "handoff_addition"})
# The back office's "try it" box asks the bot over REST as this sender (plus a random tail): not a user.
TRY_SENDER_PREFIX = "backoffice-review-try-"
# At most this many distinct questions are grouped (the most recent ones): grouping compares every pair.
MAX_QUESTIONS = 3000
MAX_EXAMPLES = 12
# The question vectors kept between requests (1.5 KB each), the most recently used.
CACHED_VECTORS = 2 * MAX_QUESTIONS
# The grouping's model is let go after this long unused (the back office: RIS3_REVIEW_MODEL_IDLE_SECONDS).
MODEL_IDLE_SECONDS = 300.0

# Two questions are grouped when their e5 query embeddings (normalised: the dot product is the cosine) are at
# least this similar, with complete linkage: EVERY two questions of a group are, so a group never chains from
# one meaning to another through in-between questions. Measured with multilingual-e5-small on this project
# (tests/review/test_grouping.py repeats the measurement):
# - paraphrases of one question in one language: 0.89-0.97 ("What are the office opening hours?" / "when is the
#   office open?" 0.95; "is tourism a priority" / "does the strategy include tourism" 0.90);
# - different questions about the strategy reach 0.88 ("How many jobs has the strategy created?" / "When does
#   the next strategy period start?"): every question here shares "strategy", "Kymenlaakso" or "RIS3", which
#   e5 weighs heavily;
# - on the labelled set tests/data/decision_cases.yml (292 answerable questions, deliberately full of near
#   misses), pairs put together at 0.90 are 83% pairs of questions one fact answers (average linkage at 0.90:
#   67%; complete at 0.88: 72%, at 0.92: 87% but half as many pairs), and 94% of the questions sit in a group
#   whose main fact answers them.
# A wrong merge costs more than a split: "answered by fact X" would teach X a question it does not answer
# (staff can untick such a question, which then stays in the queue); a split costs one more decision. Questions
# in English and Finnish meet only when very close (translations score 0.80-0.89), so groups are mostly of one
# language.
GROUP_SIMILARITY = 0.90


class Embed(Protocol):
    def __call__(self, texts: list[str]) -> np.ndarray: ...


@dataclass
class ReviewQuestion:
    """One question (its normalised form) as asked in the period: how often, when, where, and why it is here."""

    text: str
    normalised: str
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    languages: Counter[str] = field(default_factory=Counter)
    channels: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    # The fact (or passage) retrieval found closest each time: the bot's own guess.
    closest: Counter[str] = field(default_factory=Counter)
    spellings: Counter[str] = field(default_factory=Counter)

    @property
    def key(self) -> str:
        return question_hash(self.normalised)

    @property
    def language(self) -> str:
        return self.languages.most_common(1)[0][0] if self.languages else "en"

    @property
    def contact_details(self) -> bool:
        """The text seems to hold an e-mail address or a phone number: not to be copied into the knowledge
        unless someone ticks it on purpose."""
        return redact(self.text) != self.text

    @property
    def shown(self) -> str:
        """The text as the page shows it: an address or a phone number in it hidden."""
        return redact(self.text) if self.contact_details else self.text

    def add(self, turn: TurnRecord, reasons: Iterable[str]) -> None:
        self.count += 1
        self.spellings[turn.text.strip()] += 1
        self.text = self.spellings.most_common(1)[0][0]
        self.first_seen = turn.time if self.first_seen is None else min(self.first_seen, turn.time)
        self.last_seen = turn.time if self.last_seen is None else max(self.last_seen, turn.time)
        self.languages[turn.language] += 1
        self.channels[turn.channel] += 1
        self.reasons.update(reasons)
        item = (turn.decision or {}).get("item")
        if isinstance(item, str) and item:
            self.closest[item] += 1

    def as_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "count": self.count,
            "language": self.language,
            "languages": dict(self.languages),
            "channels": dict(self.channels),
            "reasons": dict(self.reasons),
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "contact_details": self.contact_details,
        }


@dataclass
class ReviewGroup:
    id: str
    questions: list[ReviewQuestion]

    @property
    def count(self) -> int:
        return sum(q.count for q in self.questions)

    @property
    def representative(self) -> str:
        return self.questions[0].text

    @property
    def representative_shown(self) -> str:
        return self.questions[0].shown

    @property
    def first_seen(self) -> datetime | None:
        return min((q.first_seen for q in self.questions if q.first_seen), default=None)

    @property
    def last_seen(self) -> datetime | None:
        return max((q.last_seen for q in self.questions if q.last_seen), default=None)

    def _total(self, name: str) -> Counter[str]:
        total: Counter[str] = Counter()
        for question in self.questions:
            total.update(getattr(question, name))
        return total

    @property
    def languages(self) -> Counter[str]:
        return self._total("languages")

    @property
    def channels(self) -> Counter[str]:
        return self._total("channels")

    @property
    def reasons(self) -> Counter[str]:
        return self._total("reasons")

    @property
    def closest(self) -> Counter[str]:
        return self._total("closest")

    def question(self, text: str) -> ReviewQuestion | None:
        wanted = normalise(text)
        return next((q for q in self.questions if q.normalised == wanted), None)

    def as_json(self, facts: Iterable[str] = ()) -> dict[str, Any]:
        known = set(facts)
        return {
            "id": self.id,
            "representative": self.representative,
            "count": self.count,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "languages": dict(self.languages.most_common()),
            "channels": dict(self.channels.most_common()),
            "reasons": dict(self.reasons.most_common()),
            # The bot's closest facts (passages left out): where "answered by fact X" most likely points.
            "closest_facts": [{"fact": f, "count": n} for f, n in self.closest.most_common() if f in known][:3],
            "questions": [q.as_json() for q in self.questions[:MAX_EXAMPLES]],
            "more_questions": max(0, len(self.questions) - MAX_EXAMPLES),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def question_hash(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def group_id(questions: Iterable[ReviewQuestion]) -> str:
    """Names exactly these questions: a group that gains or loses one is another group."""
    joined = "\n".join(sorted(q.normalised for q in questions))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


def is_question(turn: TurnRecord) -> bool:
    text_ = turn.text.strip()
    return (
        bool(text_)
        and not turn.button
        and not turn.form_answer
        and not text_.startswith("/")
        and not _from_try_box(turn)
        and turn.form_slot not in PERSONAL_FORM_SLOTS
    )


def _from_try_box(turn: TurnRecord) -> bool:
    return turn.conversation_id.startswith(f"{REST}:{TRY_SENDER_PREFIX}")


def turn_reasons(turn: TurnRecord, threshold: Callable[[str], float | None]) -> list[str]:
    """Why this turn's question belongs in the queue (without the handoff, which needs the next turns)."""
    decision = turn.decision
    if decision and decision.get("kind") == "choose" and decision.get("how") == "ask back" and is_question(turn):
        return [NOT_HELPFUL, ASKED_BACK] if turn.helpful is False else [ASKED_BACK]
    if not decision or decision.get("kind") != "answer" or not is_question(turn):
        return []
    # The user's own word first: a "no" to "Did this answer your question?" whatever the bot thought of it.
    found = [NOT_HELPFUL] if turn.helpful is False else []
    if not decision.get("answered"):
        return [*found, DECLINED]
    if decision.get("hedged"):
        return [*found, HEDGED]
    confidence, limit = decision.get("confidence"), threshold(turn.language)
    if isinstance(confidence, (int, float)) and limit is not None and confidence < limit:
        return [*found, LOW_CONFIDENCE]
    return found


def flagged_turns(
    turns: Sequence[TurnRecord], threshold: Callable[[str], float | None]
) -> list[tuple[TurnRecord, list[str]]]:
    """The turns whose question comes to the queue, with why. `turns` in conversation order (load_turns')."""
    reasons: dict[int, list[str]] = {}
    last_question: dict[str, TurnRecord] = {}
    ordered = sorted(turns, key=lambda t: (t.conversation_id, t.time, t.event_id))
    for turn in ordered:
        found = turn_reasons(turn, threshold)
        if found:
            reasons[turn.event_id] = found
        if turn.handoff_started:
            asked = last_question.get(turn.conversation_id)
            if asked is not None and turn.time - asked.time <= HANDOFF_LOOKBACK:
                reasons.setdefault(asked.event_id, [])
                if HANDOFF not in reasons[asked.event_id]:
                    reasons[asked.event_id].append(HANDOFF)
        if turn.decision and turn.decision.get("kind") == "answer" and is_question(turn):
            last_question[turn.conversation_id] = turn
    by_id = {turn.event_id: turn for turn in ordered}
    return [(by_id[event_id], found) for event_id, found in reasons.items()]


def collect_questions(
    turns: Sequence[TurnRecord],
    threshold: Callable[[str], float | None],
    decided: set[str] | frozenset[str] = frozenset(),
) -> list[ReviewQuestion]:
    """The queue's questions, one per normalised text, leaving out those already decided (hashes)."""
    questions: dict[str, ReviewQuestion] = {}
    for turn, reasons in flagged_turns(turns, threshold):
        normalised = normalise(turn.text)
        if not normalised or question_hash(normalised) in decided:
            continue
        question = questions.setdefault(normalised, ReviewQuestion(turn.text.strip(), normalised))
        question.add(turn, reasons)
    found = sorted(questions.values(), key=lambda q: q.last_seen or datetime.min.replace(tzinfo=timezone.utc))
    if len(found) > MAX_QUESTIONS:
        logger.warning("review: %d questions to group, only the %d most recent are", len(found), MAX_QUESTIONS)
        found = found[-MAX_QUESTIONS:]
    return found


def cluster(vectors: np.ndarray, similarity: float = GROUP_SIMILARITY) -> list[int]:
    """A cluster number per row of unit vectors: complete linkage at `similarity` (see GROUP_SIMILARITY)."""
    if len(vectors) == 0:
        return []
    if len(vectors) == 1:
        return [0]
    from sklearn.cluster import AgglomerativeClustering

    distances = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0)
    model = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="complete", distance_threshold=1.0 - similarity
    )
    return [int(label) for label in model.fit(distances).labels_]


def group_questions(
    questions: Sequence[ReviewQuestion], embed: Embed, similarity: float = GROUP_SIMILARITY
) -> list[ReviewGroup]:
    """Questions grouped by meaning; groups asked most first, their questions too."""
    ordered = sorted(questions, key=lambda q: q.normalised)  # the clustering depends on the order: fix it
    if not ordered:
        return []
    labels = cluster(embed([q.text for q in ordered]), similarity)
    members: dict[int, list[ReviewQuestion]] = {}
    for label, question in zip(labels, ordered, strict=True):
        members.setdefault(label, []).append(question)
    groups = []
    for found in members.values():
        found.sort(key=lambda q: (-q.count, q.normalised))
        groups.append(ReviewGroup(group_id(found), found))
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    groups.sort(key=lambda g: (-g.count, -(g.last_seen or epoch).timestamp(), g.id))
    return groups


# --- decisions ---------------------------------------------------------------------------------------------------

FACT, SHOULD_HAND_OFF, OUT_OF_SCOPE, NEW_FACT = "fact", "handoff", "out_of_scope", "new_fact"
DECISIONS = (FACT, SHOULD_HAND_OFF, OUT_OF_SCOPE, NEW_FACT)
DECISION_LABELS = {
    FACT: "Should have been answered by a fact",
    SHOULD_HAND_OFF: "Should have handed off to a person",
    OUT_OF_SCOPE: "Out of scope: fine as it is",
    NEW_FACT: "Needs a new fact",
}
MAX_NOTE_CHARS = 2000

# For the queries; the tables themselves are made by the handoff database's migration 0003.
_metadata = MetaData()
review_decisions = Table(
    "review_decisions",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # One decision per group: the second one breaks this and is told who was first.
    Column("group_id", String(64), nullable=False, unique=True),
    Column("decision", String(20), nullable=False),
    Column("fact_id", String(100)),
    Column("note", Text, nullable=False, default=""),
    Column("decided_by", String(200), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    # The questions decided on, as JSON: [{text, language, count}], and what the decision changed.
    Column("questions", Text, nullable=False),
    Column("changes", Text, nullable=False, default="{}"),
)
review_questions = Table(
    "review_questions",
    _metadata,
    # A decided question (its normalised text's hash) never comes back: also not through another group.
    Column("question_hash", String(64), primary_key=True),
    Column("decision_id", Integer, ForeignKey("review_decisions.id", ondelete="CASCADE"), nullable=False),
)


class ReviewError(Exception):
    """A decision that cannot be made as asked; the message says why (HTTP 422 or 404)."""


class GroupNotFound(ReviewError):
    """No open group has this id (it changed since the page was loaded, or never existed)."""


class AlreadyDecided(ReviewError):
    def __init__(self, record: DecisionRecord) -> None:
        when = record.decided_at.strftime("%Y-%m-%d %H:%M UTC")
        super().__init__(f"already decided by {record.decided_by} at {when}: {DECISION_LABELS[record.decision]}")
        self.record = record


class KnowledgeChangeRefused(ReviewError):
    """The change would leave the knowledge or the FAQ cases invalid; nothing was written."""


@dataclass(frozen=True)
class DecisionRecord:
    id: int
    group_id: str
    decision: str
    fact_id: str | None
    note: str
    decided_by: str
    decided_at: datetime
    questions: list[dict[str, Any]]
    changes: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "group_id": self.group_id,
            "decision": self.decision,
            "label": DECISION_LABELS.get(self.decision, self.decision),
            "fact": self.fact_id,
            "note": self.note,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat(),
            "questions": self.questions,
            "changes": self.changes,
        }


def _record(row: Any) -> DecisionRecord:
    decided_at = row.decided_at
    if decided_at.tzinfo is None:  # SQLite keeps no zone: they are stored as UTC
        decided_at = decided_at.replace(tzinfo=timezone.utc)
    return DecisionRecord(
        id=row.id,
        group_id=row.group_id,
        decision=row.decision,
        fact_id=row.fact_id,
        note=row.note or "",
        decided_by=row.decided_by,
        decided_at=decided_at,
        questions=json.loads(row.questions or "[]"),
        changes=json.loads(row.changes or "{}"),
    )


class DecisionStore:
    """The decisions in the handoff database (SQLite or PostgreSQL)."""

    def __init__(self, database_url: str) -> None:
        # Locking transactions: on SQLite a decision takes the write lock at its start, so two at once queue up
        # and the second meets the first's row (PostgreSQL's unique index makes the second wait the same way).
        self.engine: Engine = make_engine(database_url, locking_transactions=True)
        self._ready = False
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _reachable(self) -> Iterator[None]:
        """A database that cannot be reached is StoreUnavailable, as for the tickets (the pages answer 503); the
        driver's message is left out, as it may quote the URL and its password."""
        try:
            yield
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"the review decisions cannot be read or stored ({type(exc).__name__})") from None

    def ensure_schema(self) -> None:
        """The tables come from the handoff database's migrations (revision 0003), as every other table."""
        with self._reachable(), self._lock:
            if self._ready:
                return
            upgrade(self.engine.url.render_as_string(hide_password=False))
            self._ready = True

    def decided_hashes(self) -> set[str]:
        self.ensure_schema()
        with self._reachable(), self.engine.connect() as connection:
            return {row[0] for row in connection.execute(select(review_questions.c.question_hash))}

    def by_group(self, group: str) -> DecisionRecord | None:
        self.ensure_schema()
        with self._reachable(), self.engine.connect() as connection:
            row = connection.execute(select(review_decisions).where(review_decisions.c.group_id == group)).first()
        return _record(row) if row else None

    def by_question(self, hashes: Iterable[str]) -> DecisionRecord | None:
        self.ensure_schema()
        with self._reachable(), self.engine.connect() as connection:
            row = connection.execute(
                select(review_decisions)
                .join(review_questions, review_questions.c.decision_id == review_decisions.c.id)
                .where(review_questions.c.question_hash.in_(list(hashes)))
                .limit(1)
            ).first()
        return _record(row) if row else None

    def recent(self, limit: int = 20) -> list[DecisionRecord]:
        self.ensure_schema()
        with self._reachable(), self.engine.connect() as connection:
            rows = connection.execute(
                select(review_decisions).order_by(review_decisions.c.decided_at.desc(), review_decisions.c.id.desc())
                .limit(limit)
            )
            return [_record(row) for row in rows]

    def record(
        self,
        group: str,
        decision: str,
        fact_id: str | None,
        note: str,
        who: str,
        questions: Sequence[ReviewQuestion],
        apply: Callable[[], dict[str, Any]],
    ) -> DecisionRecord:
        """Stores the decision and runs `apply` (the files it changes) in one transaction: when apply fails,
        the decision is not stored; when another decision on the group or one of its questions came first,
        AlreadyDecided (and apply is not run)."""
        self.ensure_schema()
        decided_at = datetime.now(timezone.utc)
        listed = [{"text": q.text, "language": q.language, "count": q.count} for q in questions]
        hashes = [q.key for q in questions]
        try:
            with self._reachable(), self.engine.begin() as connection:
                new_id = connection.execute(
                    insert(review_decisions).values(
                        group_id=group, decision=decision, fact_id=fact_id, note=note, decided_by=who,
                        decided_at=decided_at, questions=json.dumps(listed, ensure_ascii=False), changes="{}",
                    )
                ).inserted_primary_key[0]
                connection.execute(
                    insert(review_questions), [{"question_hash": h, "decision_id": new_id} for h in hashes]
                )
                changes = apply()
                connection.execute(
                    update(review_decisions).where(review_decisions.c.id == new_id)
                    .values(changes=json.dumps(changes, ensure_ascii=False))
                )
        except IntegrityError:
            first = self.by_group(group) or self.by_question(hashes)
            if first is None:  # the other transaction was rolled back meanwhile: try again from the start
                raise ReviewError("another decision on these questions was being made; try again") from None
            raise AlreadyDecided(first) from None
        return DecisionRecord(new_id, group, decision, fact_id, note, who, decided_at, listed, changes)

    def forget(self, group: str) -> None:
        """Removes a decision (tests, and undoing by hand): its questions may come back."""
        with self.engine.begin() as connection:
            found = connection.execute(
                select(review_decisions.c.id).where(review_decisions.c.group_id == group)
            ).first()
            if found:
                connection.execute(delete(review_questions).where(review_questions.c.decision_id == found[0]))
                connection.execute(delete(review_decisions).where(review_decisions.c.id == found[0]))

    def purge(self, older_than_days: int, now: datetime | None = None) -> int:
        """Erases the question texts of decisions older than the retention period (users may have typed
        personal data into a question); who decided what, when and for which fact stays. Returns how many."""
        from bot.privacy.records import erase_review_texts  # the erasure's own code

        self.ensure_schema()
        cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=older_than_days)
        with self._reachable(), self.engine.begin() as connection:
            before = connection.execute(
                select(func.count()).select_from(review_decisions).where(
                    review_decisions.c.decided_at < cutoff, review_decisions.c.questions != "[]"
                )
            ).scalar_one()
            erase_review_texts(connection, decided_before=cutoff)
            return int(before)

    def close(self) -> None:
        self.engine.dispose()


# --- teaching a fact new phrasings: knowledge/facts.yml and the FAQ cases -----------------------------------------

MAX_KEY_CHARS = 300
LEARNED_CASES = "learned_{lang}.yml"
LEARNED_TAG = "learned"
# Words in a row that make a phrase of the fact's text found in no other fact's text: what a FAQ case expects.
PHRASE_WORDS = (4, 5, 6, 3, 7, 8)
# A learned question must get the fact as an answer, not as a guess or with an apology (domain.yml's
# utter_answer_unsure and utter_dont_know; the contact fact's text is also in the latter).
NOT_AN_ANSWER = {
    "en": ["I.m not sure I understood", "I.m sorry, I don.t know that"],
    "fi": ["En ole varma, ymmärsinkö", "Valitettavasti en tiedä sitä"],
}
_CASES_HEADER = {
    "en": "# Questions staff taught the bot from the back office's Review queue (docs/review.md): each was asked by\n"
    "# users, and staff decided which fact answers it; the question was added to that fact's keys. Written by\n"
    "# bot/analytics/review.py; a developer reviews them like any change to the cases.\n",
    "fi": "# Kysymyksiä, jotka henkilöstö opetti botille taustapalvelun Review-jonosta (docs/review.md): käyttäjät\n"
    "# kysyivät niitä, ja henkilöstö päätti, mikä fakta niihin vastaa; kysymys lisättiin faktan avaimiin.\n"
    "# Kirjoittaja: bot/analytics/review.py; kehittäjä katselmoi ne kuten muutkin tapaukset.\n",
}


# What YAML may not hold as such: outside its printable set (YAML 1.1 §5.1) DEL, the C1 controls, surrogates,
# U+FFFE/U+FFFF; and the line breaks NEL, LS and PS, which a quoted scalar would fold away. JSON leaves them raw, so
# a question holding one would make a file YAML refuses to read (or reads back changed).
_NOT_YAML_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def yaml_quoted(value: str) -> str:
    """The string as a YAML double-quoted scalar that reads back the same, every character kept (escaped where
    YAML would refuse it)."""
    quoted = json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar…
    return _NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)  # …once these are escaped


def yaml_scalar(value: str) -> str:
    """The string as a YAML list item writes it: plain when that reads back the same, else double-quoted."""
    with contextlib.suppress(yaml.YAMLError):
        if value == value.strip() and not _NOT_YAML_PRINTABLE.search(value) and yaml.safe_load(f"- {value}") == [value]:
            return value
    return yaml_quoted(value)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def insert_keys(source: str, fact_id: str, additions: dict[str, list[str]]) -> str:
    """facts.yml's text with `additions` (language -> keys) appended to the fact's key lists as new lines.
    Raises KnowledgeChangeRefused when the fact is not written in the block layout the file uses."""
    lines = source.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    heading = re.compile(rf"^  - id:\s*{re.escape(fact_id)}\s*(#.*)?$")
    start = next((i for i, line in enumerate(lines) if heading.match(line.rstrip("\r\n"))), None)
    if start is None:
        raise KnowledgeChangeRefused(f"fact {fact_id!r} is not written as '  - id: {fact_id}' in facts.yml")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^(  - |\S)", lines[i])), len(lines))
    # The fact's own lines: its trailing blank lines and the comment that heads the next section are not.
    while end > start + 1 and _blank_or_comment(lines[end - 1]):
        end -= 1
    keys_at = next((i for i in range(start, end) if re.match(r"^    keys:", lines[i])), None)
    if keys_at is not None and lines[keys_at].split("#", 1)[0].strip() != "keys:":
        raise KnowledgeChangeRefused(f"fact {fact_id}: its keys are not written as a block ('keys:' then languages)")
    inserts: list[tuple[int, list[str]]] = []
    if keys_at is None:
        at = next((i for i in range(start, end) if re.match(r"^    quotes:", lines[i])), end)
        block = [f"    keys:{newline}"]
        for lang, keys in additions.items():
            block += [f"      {lang}:{newline}", *(f"        - {yaml_scalar(k)}{newline}" for k in keys)]
        inserts.append((at, block))
    else:
        region_end = keys_at + 1
        while region_end < end and (_indent(lines[region_end]) >= 6 or not lines[region_end].strip()):
            region_end += 1
        while region_end > keys_at + 1 and not lines[region_end - 1].strip():
            region_end -= 1
        for lang, keys in additions.items():
            lang_at = next(
                (i for i in range(keys_at + 1, region_end) if re.match(rf"^      {lang}:", lines[i])), None
            )
            if lang_at is None:
                block = [f"      {lang}:{newline}", *(f"        - {yaml_scalar(k)}{newline}" for k in keys)]
                inserts.append((region_end, block))
                continue
            if lines[lang_at].split("#", 1)[0].strip() != f"{lang}:":
                raise KnowledgeChangeRefused(f"fact {fact_id}: its {lang} keys are not written as a block list")
            last, indent = lang_at, 8
            for i in range(lang_at + 1, region_end):
                if not lines[i].strip():
                    continue
                if _indent(lines[i]) <= 6:
                    break
                if lines[i].lstrip().startswith("- ") and _indent(lines[i]) > 6:
                    indent = _indent(lines[i]) if last == lang_at else indent
                last = i
            inserts.append((last + 1, [f"{' ' * indent}- {yaml_scalar(k)}{newline}" for k in keys]))
    for at, block in sorted(inserts, key=lambda item: item[0], reverse=True):
        lines[at:at] = block
    return "".join(lines)


# Between two words of a phrase: anything but letters and digits (words() splits "KYMRIS3_esite_eng" at "_" too);
# around it, no letter or digit ("rahoittama" is not "rahoittaman").
_SEPARATOR = r"[\W_]+"


def _phrase(run: list[str]) -> str:
    return r"(?<![^\W_])" + _SEPARATOR.join(re.escape(w) for w in run) + r"(?![^\W_])"


def distinctive_phrase(fact: Fact, lang: str, knowledge: Knowledge) -> str | None:
    """A regex for words in a row of the fact's text (in `lang`) that no other fact's text has: the reply must
    contain it. Words only, so that punctuation and spacing do not matter. Of the runs of the shortest length
    that has one, the one with the most content words ("download kymris3 esite eng", not "the page offers the")."""
    own = words(fact.text.get(lang) or fact.text["en"])
    others = [
        " " + " ".join(words(t)) + " " for f in knowledge.facts.values() if f.id != fact.id for t in f.text.values()
    ]
    fallback: list[str] | None = None
    for size in PHRASE_WORDS:
        best: tuple[int, list[str]] | None = None
        for first in range(0, max(0, len(own) - size + 1)):
            run = own[first : first + size]
            if len("".join(run)) < 12 or all(w.isdigit() for w in run):
                continue
            if any(f" {' '.join(run)} " in other for other in others):
                continue
            content = sum(1 for w in run if w not in STOPWORDS and len(w) > 2)
            if best is None or content > best[0]:
                best = (content, run)
        if best is not None and best[0] >= 2:
            return _phrase(best[1])
        if best is not None and fallback is None:
            fallback = best[1]
    return _phrase(fallback) if fallback else None


@dataclass
class KnowledgeChange:
    """What "answered by fact X" writes: the new text of each file (None: the file stays), and what it means."""

    fact_id: str
    keys: dict[str, list[str]] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    files: dict[Path, tuple[bytes | None, str]] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any]:
        return {
            "fact": self.fact_id,
            "keys_added": self.keys,
            "faq_cases_added": self.cases,
            "skipped": self.skipped,
            "files": sorted(str(p) for p in self.files),
        }


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _write_atomically(path: Path, content: str) -> None:
    """Replaces the file in one step (a reader sees the old or the new text), keeping its permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    descriptor, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _case_item(question: str, case_id: str, lang: str, fact: Fact, expect: str, group: str, who: str) -> str:
    quoted = "'" + expect.replace("'", "''") + "'"
    forbid = ", ".join("'" + p.replace("'", "''") + "'" for p in NOT_AN_ANSWER[lang])
    return (
        f"# group {group}, {who}, {datetime.now(timezone.utc):%Y-%m-%d}: answered by {fact.id}\n"
        f"- id: {case_id}\n"
        f"  question: {yaml_quoted(question)}\n"
        f"  language: {lang}\n"
        f"  tags: [{fact.topic}, {lang}, {LEARNED_TAG}]\n"
        f"  expect: [{quoted}]\n"
        f"  not: [{forbid}]\n"
    )


class KnowledgeWriter:
    """Plans and writes the files a decision changes, one decision at a time (a lock in the process, and a lock
    on the knowledge folder against another process)."""

    def __init__(self, knowledge_dir: Path, cases_dir: Path, nlu_dir: Path | None) -> None:
        self.knowledge_dir = knowledge_dir
        self.cases_dir = cases_dir
        self.nlu_dir = nlu_dir
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock:
            descriptor = os.open(self.knowledge_dir, os.O_RDONLY)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                yield
            finally:
                os.close(descriptor)

    def knowledge(self) -> Knowledge:
        return load_knowledge(self.knowledge_dir)

    def plan_fact(self, fact_id: str, questions: Sequence[ReviewQuestion], group: str, who: str) -> KnowledgeChange:
        """The change that teaches fact_id these questions; KnowledgeChangeRefused when it would break anything."""
        try:
            knowledge = self.knowledge()
        except KnowledgeError as exc:
            raise KnowledgeChangeRefused(f"the knowledge does not load as it is ({exc}); fix it first") from exc
        fact = knowledge.facts.get(fact_id)
        if fact is None:
            raise ReviewError(f"no fact {fact_id!r} in the knowledge")
        change = KnowledgeChange(fact_id)
        owner: dict[str, str] = {}
        for other in knowledge.facts.values():
            for keys in other.keys.values():
                for key in keys:
                    owner.setdefault(normalise(key), other.id)
        for question in questions:
            key = " ".join(question.text.split())
            lang = question.language if question.language in LANGUAGES else "en"
            known = owner.get(question.normalised)
            if len(key) > MAX_KEY_CHARS:
                change.skipped.append({"question": key, "why": f"longer than {MAX_KEY_CHARS} characters"})
            elif known == fact_id:
                change.skipped.append({"question": key, "why": f"already a phrasing of {fact_id}"})
            elif known is not None:
                change.skipped.append({"question": key, "why": f"already a phrasing of another fact, {known}"})
            else:
                change.keys.setdefault(lang, []).append(key)
                owner[question.normalised] = fact_id
        if not change.keys:
            return change
        facts_path = self.knowledge_dir / "facts.yml"
        before = facts_path.read_bytes()
        after = insert_keys(before.decode("utf-8"), fact_id, change.keys)
        self._check_facts(before.decode("utf-8"), after, fact_id, change.keys)
        change.files[facts_path] = (before, after)
        self._plan_cases(change, fact, knowledge, group, who)
        return change

    def _check_facts(self, before: str, after: str, fact_id: str, keys: dict[str, list[str]]) -> None:
        """The new facts.yml reads as the old one plus exactly these keys, and the knowledge loads and passes its
        checks with it (in a copy of the folder: nothing is written unless it does)."""
        from bot.faq.entries import FaqError, check_faq

        try:
            old, new = yaml.safe_load(before), yaml.safe_load(after)
        except yaml.YAMLError as exc:
            raise KnowledgeChangeRefused(f"facts.yml would not be valid YAML: {exc}") from exc
        expected = json.loads(json.dumps(old, default=str))
        for raw in expected.get("facts") or []:
            if raw.get("id") == fact_id:
                raw_keys = raw.setdefault("keys", {})
                for lang, added in keys.items():
                    raw_keys[lang] = list(raw_keys.get(lang) or []) + added
        if json.loads(json.dumps(new, default=str)) != expected:
            raise KnowledgeChangeRefused(f"the keys could not be added to {fact_id} without changing anything else")
        with tempfile.TemporaryDirectory(prefix="ris3-review-") as tmp:
            copy = Path(tmp) / "knowledge"
            shutil.copytree(
                self.knowledge_dir, copy, ignore=shutil.ignore_patterns("index", "index.*", ".*", "drafts")
            )
            (copy / "facts.yml").write_text(after, encoding="utf-8")
            try:
                load_knowledge(copy)
                if (copy / "faq.yml").is_file():
                    check_faq(copy)
            except (KnowledgeError, FaqError) as exc:
                raise KnowledgeChangeRefused(f"the knowledge would not pass its checks: {exc}") from exc

    def _plan_cases(self, change: KnowledgeChange, fact: Fact, knowledge: Knowledge, group: str, who: str) -> None:
        try:
            has_cases = self.cases_dir.is_dir() and any(self.cases_dir.glob("*.yml"))
            existing = load_cases(self.cases_dir) if has_cases else []
        except CaseError as exc:
            raise KnowledgeChangeRefused(f"the FAQ cases do not load as they are ({exc}); fix them first") from exc
        asked = {normalise(q) for case in existing for q in case.questions}
        taken_ids = {case.id for case in existing}
        training = nlu_examples(self.nlu_dir) if self.nlu_dir and self.nlu_dir.is_dir() else set()
        for lang, keys in change.keys.items():
            expect = distinctive_phrase(fact, lang, knowledge)
            items = []
            for key in keys:
                normalised = normalise(key)
                case_id = f"learned-{question_hash(normalised)[:12]}"
                if expect is None:
                    why = "no FAQ case: the fact's text has no phrase of its own"
                    change.skipped.append({"question": key, "why": why})
                elif normalised in training:
                    change.skipped.append({"question": key, "why": "no FAQ case: it is an NLU training example"})
                elif normalised in asked or case_id in taken_ids:
                    change.skipped.append({"question": key, "why": "no FAQ case: a case already asks it"})
                else:
                    taken_ids.add(case_id)
                    asked.add(normalised)
                    items.append(_case_item(key, case_id, lang, fact, expect, group, who))
            if not items:
                continue
            path = self.cases_dir / LEARNED_CASES.format(lang=lang)
            before = _read(path)
            head = before.decode("utf-8") if before is not None else _CASES_HEADER[lang]
            if head and not head.endswith("\n"):
                head += "\n"
            after = head + "".join(("\n" if head.strip() else "") + item for item in items)
            try:
                _, problems = parse_cases(yaml.safe_load(after) or [], path.name)
            except yaml.YAMLError as exc:
                raise KnowledgeChangeRefused(f"{path.name} would not be valid YAML: {exc}") from exc
            if problems:
                raise KnowledgeChangeRefused(f"{path.name} would not load: {'; '.join(problems)}")
            change.files[path] = (before, after)
            change.cases[lang] = len(items)

    def apply(self, change: KnowledgeChange) -> dict[str, Any]:
        """Writes the planned files, unless one changed since it was planned (then nothing is written)."""
        for path, (before, _) in change.files.items():
            if _read(path) != before:
                raise KnowledgeChangeRefused(f"{path.name} changed while the decision was made; decide again")
        written: list[Path] = []
        try:
            for path, (_, after) in change.files.items():
                _write_atomically(path, after)
                written.append(path)
        except OSError as exc:
            for path in written:  # put back what was written: all files or none
                before = change.files[path][0]
                if before is None:
                    path.unlink(missing_ok=True)
                else:
                    _write_atomically(path, before.decode("utf-8"))
            raise KnowledgeChangeRefused(f"writing {exc.filename or 'a file'} failed: {exc.strerror or exc}") from exc
        return change.summary

    def write_draft(
        self, group: ReviewGroup, questions: Sequence[ReviewQuestion], note: str, who: str
    ) -> dict[str, Any]:
        """A draft of a new fact for a developer, with the questions people asked (knowledge/drafts/)."""
        path = self.knowledge_dir / "drafts" / f"new-fact-{group.id}.yml"
        keys: dict[str, list[str]] = {}
        for question in questions:
            keys.setdefault(question.language, []).append(" ".join(question.text.split()))
        first, last = group.first_seen, group.last_seen
        lines = [
            "# A new fact asked for from the back office's Review queue (docs/review.md): people asked these",
            "# questions and no fact answers them. A developer writes the fact into knowledge/facts.yml (its text",
            "# resting on quotes from knowledge/sources/, and these questions as its keys), then deletes this file.",
            f"# Decided by {who} on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; group {group.id}.",
            "draft:",
            f"  note: {yaml_quoted(note)}",
            f"  asked: {sum(q.count for q in questions)}",
            f"  first_seen: {json.dumps(_iso(first))}",
            f"  last_seen: {json.dumps(_iso(last))}",
            "  keys:",
        ]
        for lang, texts in keys.items():
            lines.append(f"    {lang}:")
            lines += [f"      - {yaml_scalar(t)}" for t in texts]
        content = "\n".join(lines) + "\n"
        yaml.safe_load(content)  # what is written reads back
        try:
            _write_atomically(path, content)
        except OSError as exc:
            raise KnowledgeChangeRefused(f"writing the draft failed: {exc.strerror or exc}") from exc
        return {"draft": str(path)}


# --- the index rebuild ---------------------------------------------------------------------------------------------

IDLE, RUNNING, DONE, FAILED = "idle", "running", "done", "failed"


class IndexRebuild:
    """Rebuilds the index on a thread of its own, one build at a time; asked again while one runs, it builds once
    more afterwards (the knowledge may have changed after the running build read it). Its state is for the page."""

    def __init__(self, build: Callable[[], dict[str, Any]]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._pending = False
        self._running = False
        self.state = IDLE
        self.reason = ""
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.manifest: dict[str, Any] = {}
        self.builds = 0

    def request(self) -> None:
        with self._lock:
            if self._running:
                self._pending = True
                return
            self._start()

    def _start(self) -> None:
        self._running, self._pending = True, False
        self.state, self.reason = RUNNING, ""
        self.started_at, self.finished_at = datetime.now(timezone.utc), None
        threading.Thread(target=self._run, name="review-index-rebuild", daemon=True).start()

    def _run(self) -> None:
        while True:
            started = time.perf_counter()
            try:
                manifest = self._build()
            except Exception as exc:  # any failure: the old index stays in place and keeps serving
                state, reason, manifest = FAILED, f"{type(exc).__name__}: {exc}", {}
                logger.error("review: the index rebuild failed (%s); the previous index keeps serving", reason)
            else:
                state, reason = DONE, ""
                logger.info("review: knowledge index rebuilt in %.1f s", time.perf_counter() - started)
            with self._lock:
                self.builds += 1
                self.state, self.reason, self.finished_at = state, reason, datetime.now(timezone.utc)
                if manifest:
                    self.manifest = manifest
                if self._pending:
                    self._start_again()
                    continue
                self._running = False
                self._done.notify_all()
                return

    def _start_again(self) -> None:
        self._pending = False
        self.state, self.reason = RUNNING, ""
        self.started_at, self.finished_at = datetime.now(timezone.utc), None

    def wait(self, timeout: float) -> bool:
        """Until no build runs (tests and scripts); False on timeout."""
        with self._lock:
            return self._done.wait_for(lambda: not self._running, timeout)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "state": self.state,
                "reason": self.reason,
                "started_at": _iso(self.started_at),
                "finished_at": _iso(self.finished_at),
                "builds": self.builds,
            }


# --- the desk: the queue and the decisions, for the back office --------------------------------------------------


@dataclass(frozen=True)
class ReviewConfig:
    """Where the queue reads and the decisions write. The back office takes them from its settings; tests point
    them at copies (never at the repository's knowledge/)."""

    knowledge_dir: Path
    index_dir: Path
    embedding_model: str
    database_url: str
    tracker_url: str
    cases_dir: Path
    nlu_dir: Path | None = None
    torch_threads: int = 1
    # Where "add to the labelled set" appends (bot/analytics/labelled.py); None: the decision cannot do it.
    labelled_path: Path | None = None
    # The grouping's model is let go after this long unused (0: kept).
    model_idle_seconds: float = MODEL_IDLE_SECONDS


class LockedEmbedder:
    """The embedding model, loaded on first use, one encode at a time (a fast tokenizer refuses to be used from
    two threads at once), with the queue's question vectors kept for the next request (the most recently used
    CACHED_VECTORS of them).

    Bounded in memory whatever the queue holds: the model runs in low-memory mode (no onnxruntime arena, batches of
    a bounded number of tokens: bot/knowledge/onnx_encoder.py), and after `idle_seconds` without use it is let go
    (the next Review page loads it again, a few seconds), as are the vectors' memory and what the C library keeps
    of the work (bot/memory_release.py)."""

    def __init__(
        self,
        model: str,
        threads: int = 1,
        factory: Callable[[str], Any] | None = None,
        idle_seconds: float | None = MODEL_IDLE_SECONDS,
    ) -> None:
        self.model = model
        self.threads = threads
        self._factory = factory
        self._embedder: Any = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.idle_seconds = idle_seconds
        self._timer: threading.Timer | None = None
        self.loads = 0  # how often the model was loaded (the first time, and after each release)

    def _loaded(self) -> Any:
        if self._embedder is None:
            self.loads += 1
            if self._factory is not None:
                self._embedder = self._factory(self.model)
            else:
                from bot.knowledge.embedder import Embedder

                self._embedder = Embedder(self.model, threads=self.threads, low_memory=True)
        return self._embedder

    def _used(self) -> None:
        """Restarts the idle countdown (under the lock)."""
        if self.idle_seconds is None:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(self.idle_seconds, self.release)
        self._timer.daemon = True
        self._timer.start()

    @property
    def loaded(self) -> bool:
        return self._embedder is not None

    def release(self) -> None:
        """Lets the model and the kept vectors go; the next use loads the model again."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._embedder = None
            self._cache.clear()
        gc.collect()
        release_free_memory()

    def queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            try:
                return np.asarray(self._loaded().queries(texts), dtype=np.float32)
            finally:
                self._used()

    def passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            try:
                return np.asarray(self._loaded().passages(texts), dtype=np.float32)
            finally:
                self._used()

    def __call__(self, texts: list[str]) -> np.ndarray:
        """Query vectors, from the cache where known (the queue asks for the same questions on every request)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        fresh = dict(zip(missing, self.queries(missing), strict=True)) if missing else {}
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for text_ in found:
                self._cache.move_to_end(text_)
            for text_, vector in fresh.items():
                self._cache[text_] = vector
            while len(self._cache) > CACHED_VECTORS:
                self._cache.popitem(last=False)
        found.update(fresh)
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)


class ReviewDesk:
    """The queue and the decisions on it: what the back office's Review page and API call."""

    def __init__(
        self,
        config: ReviewConfig,
        embedder: LockedEmbedder | None = None,
        build: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.config = config
        self.embedder = embedder or LockedEmbedder(
            config.embedding_model, config.torch_threads, idle_seconds=config.model_idle_seconds or None
        )
        self.store = DecisionStore(config.database_url)
        self.writer = KnowledgeWriter(config.knowledge_dir, config.cases_dir, config.nlu_dir)
        self.rebuild = IndexRebuild(build or self._build_index)
        self._model: tuple[float, Any] | None = None

    # The index ---------------------------------------------------------------------------------------------------

    def _build_index(self) -> dict[str, Any]:
        from bot.faq.entries import check_faq
        from bot.knowledge.index import build_index

        config = self.config
        if (config.knowledge_dir / "faq.yml").is_file():
            check_faq(config.knowledge_dir)
        _, manifest = build_index(
            config.knowledge_dir, config.index_dir, config.embedding_model, embedder_factory=lambda _: self.embedder
        )
        return manifest

    def index_status(self) -> dict[str, Any]:
        """The rebuild's state, the index in place, and whether it is the knowledge as it is now."""
        from bot.knowledge.index import expected_manifest

        status = self.rebuild.status()
        try:
            manifest = json.loads((self.config.index_dir / "manifest.json").read_text())
        except (OSError, ValueError):
            manifest = {}
        status["built_at"] = manifest.get("built_at")
        status["facts"] = manifest.get("facts")
        status["knowledge_error"] = ""
        try:
            wanted = expected_manifest(load_knowledge(self.config.knowledge_dir), self.config.embedding_model)
        except KnowledgeError as exc:
            status["up_to_date"], status["knowledge_error"] = False, str(exc)
        else:
            status["up_to_date"] = bool(manifest) and all(manifest.get(k) == v for k, v in wanted.items())
        return status

    # The queue ---------------------------------------------------------------------------------------------------

    def threshold(self, language: str) -> float | None:
        """The calibrated model's answer threshold for the language (None without a model)."""
        from bot.knowledge.calibration import DecisionModel

        path = self.config.knowledge_dir / "decision_model.json"
        try:
            modified = path.stat().st_mtime
            if self._model is None or self._model[0] != modified:
                self._model = (modified, DecisionModel.load(path))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return float(self._model[1].threshold(language))

    def groups(
        self,
        turns: Sequence[TurnRecord],
        channel: str | None = None,
        language: str | None = None,
    ) -> list[ReviewGroup]:
        """The open groups among these turns (decided questions left out)."""
        chosen = [t for t in turns if (channel is None or t.channel == channel)]
        questions = collect_questions(chosen, self.threshold, self.store.decided_hashes())
        if language is not None:
            questions = [q for q in questions if q.language == language]
        try:
            return group_questions(questions, self.embedder)
        finally:
            # The vectors, the distance matrix and the tokens are garbage now: their pages go back to the system.
            release_free_memory()

    def facts(self) -> dict[str, Fact]:
        try:
            return self.writer.knowledge().facts
        except KnowledgeError:
            return {}

    # Deciding ----------------------------------------------------------------------------------------------------

    def decide(
        self,
        groups: Sequence[ReviewGroup],
        group: str,
        decision: str,
        who: str,
        fact_id: str | None = None,
        questions: Sequence[str] | None = None,
        note: str = "",
        label: bool = False,
    ) -> DecisionRecord:
        """Records a decision on one of `groups` (the queue as it is now) and makes its changes. `questions`: the
        texts of the group's questions it covers (None: all but those with contact details); the others stay in
        the queue. With `label`, the questions also go to the decision's labelled set for its next fit
        (bot/analytics/labelled.py): with the fact as the answer, or as questions the page does not answer (out of
        scope, should have handed off); "needs a new fact" has no answer to label yet. Raises AlreadyDecided,
        GroupNotFound, ReviewError, KnowledgeChangeRefused."""
        if decision not in DECISIONS:
            raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}")
        if decision == FACT and not fact_id:
            raise ReviewError("name the fact that should have answered (fact)")
        if decision != FACT:
            fact_id = None
        if label and (decision == NEW_FACT or self.config.labelled_path is None):
            raise ReviewError("only a decision with an answer (a fact, out of scope, a handoff) can be labelled")
        note = (note or "").strip()
        if len(note) > MAX_NOTE_CHARS:
            raise ReviewError(f"the note may be at most {MAX_NOTE_CHARS} characters")
        found = next((g for g in groups if g.id == group), None)
        if found is None:
            earlier = self.store.by_group(group)
            if earlier is not None:
                raise AlreadyDecided(earlier)
            raise GroupNotFound("no open group with this id: the queue has changed, reload it")
        chosen = self._chosen(found, questions)
        with self.writer.locked():
            earlier = self.store.by_group(group)
            if earlier is not None:
                raise AlreadyDecided(earlier)
            apply: Callable[[], dict[str, Any]]
            if decision == FACT:
                assert fact_id is not None
                change = self.writer.plan_fact(fact_id, chosen, group, who)
                apply = functools.partial(self.writer.apply, change)
            elif decision == NEW_FACT:
                apply = functools.partial(self.writer.write_draft, found, chosen, note, who)
            else:
                apply = dict
            if label:
                apply = functools.partial(self._with_labels, apply, chosen, fact_id)
            record = self.store.record(group, decision, fact_id, note, who, chosen, apply)
        if record.changes.get("keys_added"):
            self.rebuild.request()
        logger.info("review: %s decided group %s: %s %s", who, group, decision, fact_id or "")
        return record

    def _with_labels(
        self, apply: Callable[[], dict[str, Any]], chosen: Sequence[ReviewQuestion], fact_id: str | None
    ) -> dict[str, Any]:
        """The decision's own changes, then its questions appended to the labelled set."""
        assert self.config.labelled_path is not None
        changes = apply()
        labelled = [LabelledQuestion(q.text, q.language, fact_id) for q in chosen]
        added = append_labelled(labelled, _write_atomically, self.config.labelled_path)
        return {**changes, "labelled_added": [q.q for q in added], "labelled_set": self.config.labelled_path.name}

    @staticmethod
    def _chosen(group: ReviewGroup, questions: Sequence[str] | None) -> list[ReviewQuestion]:
        if questions is None:
            chosen = [q for q in group.questions if not q.contact_details]
        else:
            chosen = []
            for wanted in questions:
                found = group.question(wanted) if isinstance(wanted, str) else None
                if found is None:
                    raise ReviewError(f"not a question of this group: {str(wanted)[:80]!r}")
                if found not in chosen:
                    chosen.append(found)
        if not chosen:
            raise ReviewError("choose at least one question of the group")
        return chosen

    def close(self) -> None:
        self.store.close()
