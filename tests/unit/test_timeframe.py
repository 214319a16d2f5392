"""The time a question names, in English and Finnish."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.knowledge.timeframe import timeframe

PAGE = dt.date(2021, 1, 12)


@pytest.mark.parametrize(
    ("question", "first", "last"),
    [
        ("What happened in autumn 2020?", "2020-09-01", "2020-11-30"),
        ("what was done in the fall of 2020", "2020-09-01", "2020-11-30"),
        ("Mitä tapahtui syksyllä 2020?", "2020-09-01", "2020-11-30"),
        ("What happens during 2021?", "2021-01-01", "2021-12-31"),
        ("mitä helmikuussa 2021 tapahtuu", "2021-02-01", "2021-02-28"),
        ("what is planned for early 2021", "2021-01-01", "2021-06-30"),
        ("mitä vuosina 2021–2025 tehdään", "2021-01-01", "2025-12-31"),
        ("what happened in winter 2021", "2020-12-01", "2021-02-28"),
        ("what happens in May", "2021-05-01", "2021-05-31"),
    ],
)
def test_named_times(question: str, first: str, last: str) -> None:
    found = timeframe(question, PAGE)
    assert found is not None
    assert (found.first.isoformat(), found.last.isoformat()) == (first, last)


def test_next_is_after_the_page_date() -> None:
    found = timeframe("what happens next?", PAGE)
    assert found is not None and found.first == dt.date(2021, 1, 13)


@pytest.mark.parametrize(
    "question",
    ["May I call the project manager?", "Would energy fall under the priorities?", "when is it published",
     "who is the project manager", "mikä on strategian tavoite"],
)
def test_no_time(question: str) -> None:
    assert timeframe(question, PAGE) is None
