"""The bot knows how old its knowledge is: questions about now, with a fixed clock before, during and after
the period of knowledge/facts.yml's `period` fact, in both languages."""

from __future__ import annotations

import datetime as dt
from types import ModuleType
from typing import Any

import pytest

from bot.knowledge.currency import TODAY_ENV, asks_about_now, status, today
from bot.knowledge.index import KnowledgeIndex
from tests.unit.test_actions import actions, make_tracker, run  # noqa: F401  (the fixture)

AFTER, DURING, BEFORE = dt.date(2026, 12, 7), dt.date(2023, 6, 1), dt.date(2020, 10, 1)


def period_of(index: KnowledgeIndex) -> tuple[dt.date, dt.date]:
    when = index.facts[index.knowledge.period].when
    assert when is not None
    return when


@pytest.mark.parametrize(
    ("text", "now"),
    [
        ("Is the strategy still valid?", True),
        ("What are the current priorities?", True),
        ("Is the RIS3 strategy valid?", True),
        ("what's the latest on the strategy", True),
        ("Onko strategia vielä voimassa?", True),
        ("Mitkä ovat nykyiset painopisteet?", True),
        ("Mikä on tämänhetkinen tilanne?", True),
        ("Which years is the strategy valid?", False),
        ("minä vuosina strategia on voimassa", False),
        ("What are the priorities?", False),
        ("Kuuluuko uusiutuva energia painopisteisiin?", False),
        ("Who is the project manager?", False),
    ],
)
def test_questions_about_now_are_told_apart(text: str, now: bool) -> None:
    assert asks_about_now(text) is now


def test_status_follows_the_clock_and_the_knowledge(index: KnowledgeIndex) -> None:
    first, last = period_of(index)
    assert status(index, last + dt.timedelta(days=1), "c").response == "utter_status_period_ended"  # type: ignore[union-attr]
    assert status(index, last, "c").response == "utter_status_period_running"  # type: ignore[union-attr]
    assert status(index, first - dt.timedelta(days=1), "c").response == "utter_status_period_ahead"  # type: ignore[union-attr]
    found = status(index, AFTER, "c")
    assert found is not None
    assert found.variables["last"] == f"{last.day:02d}.{last.month:02d}.{last.year}"
    assert found.variables["period"] == f"{first.year}–{last.year}"
    assert found.variables["updated"] == index.knowledge.sources["ris3-page"].updated


def test_today_is_fixed_by_the_environment() -> None:
    assert today({TODAY_ENV: "2030-02-03"}) == dt.date(2030, 2, 3)
    with pytest.raises(ValueError, match=TODAY_ENV):
        today({TODAY_ENV: "next tuesday"})
    assert abs((today({}) - dt.date.today()).days) <= 1


def answer(actions: ModuleType, domain: dict[str, Any], text: str, language: str) -> list[dict[str, Any]]:  # noqa: F811
    tracker = make_tracker(text)
    tracker.slots["language"] = language
    return run(actions.ActionAnswer(), tracker, domain)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (AFTER, "utter_status_period_ended"),
        (DURING, "utter_status_period_running"),
        (BEFORE, "utter_status_period_ahead"),
    ],
)
@pytest.mark.parametrize(
    ("text", "language"),
    [("Is the strategy still valid?", "en"), ("Onko strategia vielä voimassa?", "fi")],
)
def test_a_question_about_now_gets_the_fact_and_its_status(
    actions: ModuleType,  # noqa: F811
    domain: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    day: dt.date,
    expected: str,
    text: str,
    language: str,
) -> None:
    monkeypatch.setenv(TODAY_ENV, day.isoformat())
    messages = answer(actions, domain, text, language)
    assert [m["response"] for m in messages][-1] == expected, messages
    assert messages[0].get("source"), "the fact itself comes first, with its source"
    if expected == "utter_status_period_ended":
        assert messages[-1]["contact"].strip()
    # The buttons sit under the last message.
    assert not messages[0]["buttons"] or len(messages) == 1


def test_the_current_priorities_come_with_the_period_ended(
    actions: ModuleType, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setenv(TODAY_ENV, AFTER.isoformat())
    messages = answer(actions, domain, "What are the current priorities?", "en")
    assert messages[0]["response"] in ("utter_answer", "utter_answer_unsure")
    assert "logistic" in messages[0]["answer"].casefold()
    assert messages[-1]["response"] == "utter_status_period_ended"


def test_a_question_about_a_time_after_the_page_says_why_it_does_not_know(
    actions: ModuleType, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setenv(TODAY_ENV, AFTER.isoformat())
    messages = answer(actions, domain, "Is there a new strategy for 2026?", "en")
    # Whatever the decision (declined, or the nearest fact), the user learns how old the page is.
    expected = "utter_status_period_ended" + ("_declined" if messages[0]["response"].startswith("utter_dont") else "")
    assert messages[-1]["response"] == expected, messages
    assert "2026" not in messages[-1]["updated"]


def test_an_ordinary_question_gets_no_status(
    actions: ModuleType, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setenv(TODAY_ENV, AFTER.isoformat())
    messages = answer(actions, domain, "Who is the project manager?", "en")
    assert not any(m["response"].startswith("utter_status") for m in messages)
