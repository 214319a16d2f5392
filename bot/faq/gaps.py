"""`bot faq gaps`: the user questions the bot could not answer (its reply began like
utter_dont_know / utter_dont_know_offer) or that led to a handoff (action_human), from Rasa's SQL
tracker store, grouped by similarity, most frequent first."""

from __future__ import annotations

import difflib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import text as sql_text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

# The opening words of utter_dont_know and utter_dont_know_offer (domain.yml), both languages.
DONT_KNOW = ("I'm sorry, I don't know", "I’m sorry, I don’t know", "Valitettavasti en tiedä")
HANDOFF_ACTIONS = {"action_human"}


@dataclass
class Gap:
    text: str
    sender: str
    timestamp: float
    reason: str  # "dont_know" | "handoff"


@dataclass
class GapGroup:
    representative: str
    questions: list[Gap] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.questions)

    @property
    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for gap in self.questions:
            counts[gap.reason] = counts.get(gap.reason, 0) + 1
        return counts


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def similar(a: str, b: str, threshold: float = 0.5) -> bool:
    ta, tb = _tokens(a), _tokens(b)
    if ta and tb and len(ta & tb) / len(ta | tb) >= threshold:
        return True
    return difflib.SequenceMatcher(None, a.casefold(), b.casefold()).ratio() >= 0.75


def tracker_url(db: Path | str) -> str:
    """A SQLAlchemy URL for Rasa's tracker store: a URL as given (PostgreSQL in a deployment), or a SQLite
    file opened read-only."""
    text = str(db)
    if "://" in text:
        return text
    return f"sqlite:///file:{Path(text).resolve()}?mode=ro&uri=true"


def find_gaps(db: Path | str, days: float | None = 30, now: float | None = None) -> list[Gap]:
    """Walk each conversation's events in order: a user message followed (before the next user
    message) by a don't-know reply or by action_human is a gap. `db` is a SQLite file or a SQLAlchemy URL."""
    since = (now or time.time()) - days * 86400 if days else 0.0
    engine = create_engine(tracker_url(db))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sql_text(
                    "SELECT sender_id, type_name, timestamp, action_name, data FROM events "
                    "WHERE timestamp >= :since ORDER BY sender_id, timestamp, id"
                ),
                {"since": since},
            ).all()
    finally:
        engine.dispose()
    gaps: list[Gap] = []
    last: dict[str, tuple[str, float, bool]] = {}  # sender -> (user text, timestamp, already counted)
    for sender, type_name, timestamp, action_name, data in rows:
        try:
            event = json.loads(data or "{}")
        except ValueError:
            continue
        kind = event.get("event") or type_name
        if kind == "user":
            text = (event.get("text") or "").strip()
            if text and not text.startswith("/"):
                last[sender] = (text, timestamp or 0.0, False)
            else:
                last.pop(sender, None)
            continue
        pending = last.get(sender)
        if not pending or pending[2]:
            continue
        reason = None
        if kind == "bot" and (event.get("text") or "").lstrip().startswith(DONT_KNOW):
            reason = "dont_know"
        elif kind == "action" and (event.get("name") or action_name) in HANDOFF_ACTIONS:
            reason = "handoff"
        if reason:
            gaps.append(Gap(pending[0], sender, pending[1], reason))
            last[sender] = (pending[0], pending[1], True)
    return gaps


def group_gaps(gaps: list[Gap], threshold: float = 0.5) -> list[GapGroup]:
    groups: list[GapGroup] = []
    for gap in gaps:
        for group in groups:
            if any(similar(gap.text, other.text, threshold) for other in group.questions):
                group.questions.append(gap)
                break
        else:
            groups.append(GapGroup(gap.text, [gap]))
    for group in groups:  # the most common wording represents the group
        texts = [g.text for g in group.questions]
        group.representative = max(set(texts), key=lambda t: (texts.count(t), -texts.index(t)))
    return sorted(groups, key=lambda g: (-g.count, g.representative.casefold()))


def main(db: Path | str, days: float) -> int:
    import sys

    is_url = "://" in str(db)
    if not is_url and not Path(db).is_file():
        print(f"faq gaps: no tracker database at {db}", file=sys.stderr)
        return 2
    where = make_url(str(db)).render_as_string(hide_password=True) if is_url else str(db)
    try:
        gaps = find_gaps(db, days)
    except SQLAlchemyError as exc:
        # The type only: a driver's message may quote the URL with its password.
        print(f"faq gaps: cannot read the tracker database {where} ({type(exc).__name__})", file=sys.stderr)
        return 2
    groups = group_gaps(gaps)
    if not groups:
        print(f"no unanswered questions or handoffs in the last {days:g} days")
        return 0
    print(f"{len(gaps)} unanswered or handed-off questions in the last {days:g} days, {len(groups)} groups:")
    for group in groups:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(group.reasons.items()))
        print(f"{group.count:>4}  {group.representative}  ({reasons})")
        for other in sorted({g.text for g in group.questions} - {group.representative}):
            print(f"      ~ {other}")
    return 0
