"""How old the knowledge is against today: "is the strategy still valid?" in December 2026 gets the fact and
the news that its period ended on 31.12.2025, that the page was last updated on 12.01.2021 and says nothing
newer, and whom to ask.

Everything it says comes from knowledge/: the period is the `when` of the fact named `period` in facts.yml,
the page's date is its source's `updated`, the contact is the `contact` fact. Only today's date is not
knowledge; it is read from the clock (RIS3_TODAY fixes it, for tests and demonstrations).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.knowledge.conversation import page_date
from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.question import asked_part
from bot.knowledge.replies import Reply, contact_text
from bot.knowledge.timeframe import timeframe

TODAY_ENV = "RIS3_TODAY"
_TIMEZONE = ZoneInfo("Europe/Helsinki")

# Words that ask about the present ("current", "still", "nykyiset", "vielä voimassa"). "valid"/"voimassa"
# alone count only when the question does not ask for a period ("which years is it valid?").
_NOW = re.compile(
    r"\b(current(ly)?|now|nowadays|today|this year|at (the )?(moment|present)|presently|still|any ?more|"
    r"latest|newest|up[- ]to[- ]date|ongoing|in effect|"
    r"nykyi\w*|nykyään|nyt|tällä hetkellä|tänä vuonna|tänään|edelleen|enää|ajantasai\w*|tämänhetki\w*|"
    r"new (strategy|version)|uusi strategia|uudempi|uusin\w*|viimeisin\w*|käynnissä|ajankohtai\w*|"
    r"vielä voimassa)\b"
)
_VALID = re.compile(r"\b(valid|in force|expired?|voimassa|päättynyt|päättyi|vanhentunut)\b")
_PERIOD_QUESTION = re.compile(
    r"\b(which|what) years?\b|\bperiod\b|\bhow long\b|\buntil when\b|\bfrom when\b|"
    r"\bmin(ä|ä) vuosina\b|\bmille vuosille\b|\bmitk(ä|ä) vuodet\b|\bkuinka kauan\b|\bmihin asti\b|\bmilloin\b"
)


_NEWER = re.compile(
    r"\b(new|newer|next|following|updated) (ris3[- ])?(strategy|strategies|version|period)\b|"
    r"\b(uusi|uudempi|seuraava|päivitetty) (ris3-)?(strategia|versio|kausi)\w*|\buudempi\b"
)


def _asks_after_the_page(question: str, index: KnowledgeIndex) -> bool:
    """"A new strategy?", or a time after the knowledge's newest page ("… for 2026?")."""
    if _NEWER.search(question.casefold()):
        return True
    updated = page_date(index)
    when = timeframe(asked_part(question), updated)
    return when is not None and when.first > updated


def today(environ: Mapping[str, str] = os.environ) -> dt.date:
    """Today in Finland, or the date RIS3_TODAY fixes (YYYY-MM-DD)."""
    fixed = (environ.get(TODAY_ENV) or "").strip()
    if fixed:
        try:
            return dt.date.fromisoformat(fixed)
        except ValueError as exc:
            raise ValueError(f"{TODAY_ENV} must be a date as YYYY-MM-DD, not {fixed!r}") from exc
    return dt.datetime.now(_TIMEZONE).date()


def asks_about_now(text: str) -> bool:
    folded = text.casefold()
    if _NOW.search(folded):
        return True
    return bool(_VALID.search(folded)) and not _PERIOD_QUESTION.search(folded)


@dataclass(frozen=True)
class Status:
    """Where today stands against the knowledge: a domain response and its variables."""

    response: str
    variables: dict[str, str]


def _date(day: dt.date) -> str:
    return f"{day.day:02d}.{day.month:02d}.{day.year}"  # as the page writes dates, in both languages


def status(index: KnowledgeIndex, on: dt.date, contact: str) -> Status | None:
    """The knowledge's period against `on`: ended, running or ahead; None when the knowledge has no period."""
    knowledge = index.knowledge
    period_fact = knowledge.facts.get(knowledge.period) if knowledge.period else None
    if period_fact is None or period_fact.when is None:
        return None
    first, last = period_fact.when
    updated = page_date(index)
    variables = {
        "period": f"{first.year}–{last.year}" if first.year != last.year else str(first.year),
        "first": _date(first),
        "last": _date(last),
        "updated": _date(updated),
        "contact": contact,
    }
    if on > last:
        return Status("utter_status_period_ended", variables)
    if on < first:
        return Status("utter_status_period_ahead", variables)
    return Status("utter_status_period_running", variables)


def with_status(reply: Reply, question: str, index: KnowledgeIndex, lang: str, on: dt.date) -> Reply:
    """The reply with a note on where today stands against the knowledge, when the question asks about now
    or about a time after the page, or when the answer is the period itself and that period has ended."""
    knowledge = index.knowledge
    period_answer = reply.answered and bool(knowledge.period) and reply.fact_id == knowledge.period
    now = asks_about_now(question)
    declined = not reply.answered and reply.response.startswith("utter_dont_know")
    # A question the knowledge cannot answer gets the note only when it asks after the page's time ("a new
    # strategy for 2026?"), not for any "today" ("the weather in Kotka today"). Read only for such replies.
    if not ((reply.answered and (now or period_answer)) or (declined and _asks_after_the_page(question, index))):
        return reply
    found = status(index, on, contact_text(index, lang))
    if found is None or (period_answer and not now and found.response != "utter_status_period_ended"):
        return reply
    response, variables = found.response, found.variables
    if declined and response == "utter_status_period_ended":
        # "I don't know…" already gives the contact: not twice.
        response = "utter_status_period_ended_declined"
        variables = {k: v for k, v in variables.items() if k != "contact"}
    reply.notes.append((response, variables))
    return reply
