"""The bot speaks of the page's plans and circumstances as of the page's last update (12.01.2021), not as if
2021 were still ahead (issue 12, item 15)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.knowledge.store import Knowledge, load_knowledge

REAL_KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"
UPDATED = "12.01.2021"
# What the page announced for 2021, and the circumstances of its day: each is true only as of the page.
DATED = re.compile(
    r"february 2021|january 2021|during 2021|helmikuu\w* 2021|tammikuu\w* 2021|vuoden 2021 aikana"
    r"|pandemi|korona|remote|etätyö|appointment|sovitusti",
    re.IGNORECASE,
)
# The page's future tense, repeated as if it were still ahead.
AS_IF_AHEAD = re.compile(
    r"\bwill be published\b|\bstarts implementing\b|\bstaff work remotely\b|\bjulkaistaan\b|\bhanke aloittaa\b"
    r"|\btekee etätyötä\b",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge(REAL_KNOWLEDGE)


def test_the_page_was_updated_on_the_date_the_facts_give(knowledge: Knowledge) -> None:
    assert {source.updated for source in knowledge.sources.values()} == {UPDATED}


@pytest.mark.parametrize("lang", ["en", "fi"])
def test_dated_plans_and_circumstances_say_when_the_page_said_them(knowledge: Knowledge, lang: str) -> None:
    for fact in knowledge.facts.values():
        text = fact.text[lang]
        if DATED.search(text):
            assert UPDATED in text, f"{fact.id} ({lang}) does not say as of when: {text}"
        assert not AS_IF_AHEAD.search(text), f"{fact.id} ({lang}) speaks as if 2021 were ahead: {text}"


@pytest.mark.parametrize(
    ("lang", "february", "january"),
    [("en", "February 2021", "January 2021"), ("fi", "helmikuussa 2021", "tammikuussa 2021")],
)
def test_both_publication_dates_stay(knowledge: Knowledge, lang: str, february: str, january: str) -> None:
    text = knowledge.facts["timeline_publication"].text[lang]
    assert february in text and january in text


@pytest.mark.parametrize("lang", ["en", "fi"])
def test_the_handoff_confirmation_leaves_the_pandemic_out(knowledge: Knowledge, lang: str) -> None:
    # The confirmation gives the contact fact (actions/handoff.py): the phone number, without the meeting rule
    # (issue 25 item 4) or the pandemic.
    text = knowledge.facts[knowledge.contact].text[lang]
    assert "+358 44 747 8512" in text and not re.search("appointment|sovitusti", text)
    assert not re.search("pandemi|korona|remote|etätyö", text, re.IGNORECASE)
    # What the page said of it is still there, in a fact of its own and dated.
    remote = knowledge.facts["contact_remote_work"].text[lang]
    assert re.search("pandemi", remote, re.IGNORECASE) and UPDATED in remote
