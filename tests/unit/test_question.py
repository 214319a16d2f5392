"""The question inside a message that gives context, the user's own sector, membership questions."""

from __future__ import annotations

import pytest

from bot.knowledge.question import asked_part, is_yes_no, membership_subject, named_sector, with_own_sector


@pytest.mark.parametrize(
    ("message", "asked"),
    [
        ("Hello, I represent a municipality in northern Kymenlaakso and we are preparing our own development "
         "plan for the next years, so I would like to know which themes the regional strategy prioritises.",
         "which themes the regional strategy prioritises."),
        ("We run a biogas plant near Hamina. Would renewable energy fall under the priorities?",
         "Would renewable energy fall under the priorities?"),
        ("Olen toimittaja ja teen juttua alueen kehityksestä. Haluaisin tietää kuka strategiasta vastaa",
         "kuka strategiasta vastaa"),
        ("I write for a local paper. Who is behind the strategy", "Who is behind the strategy"),
        ("What are the priorities?", "What are the priorities?"),
    ],
)
def test_asked_part(message: str, asked: str) -> None:
    assert asked_part(message) == asked


@pytest.mark.parametrize(
    ("context", "sector"),
    [
        ("I run a logistics SME in Kotka.", "logistics"),
        ("We are a small tourism company", "tourism"),
        ("Our company works in the forestry sector.", "forestry"),
        ("Edustan kotkalaista logistiikkayritystä.", "logistiikka"),
        ("Toimimme matkailualalla Haminassa.", "matkailu"),
    ],
)
def test_named_sector(context: str, sector: str) -> None:
    assert named_sector(context) == sector


def test_my_sector_is_replaced_by_the_named_one() -> None:
    rewritten = with_own_sector("I run a logistics SME in Kotka. Is my sector among the region's focus areas?")
    assert rewritten.endswith("Is logistics among the region's focus areas?")
    unchanged = "Is my sector among the region's focus areas?"
    assert with_own_sector(unchanged) == unchanged


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("does the strategy cover ports?", "ports"),
        ("Is tourism among the region's focus areas?", "tourism"),
        ("is gamification included", "gamification"),
        ("Would renewable energy fall under the priorities?", "renewable energy"),
        ("does it cover gamification?", "gamification"),
        ("kuuluuko matkailu painopisteisiin?", "matkailu"),
        ("onko kyberturvallisuus mukana", "kyberturvallisuus"),
        ("is the project EU-funded?", None),
        ("who is the project manager?", None),
    ],
)
def test_membership_subject(question: str, subject: str | None) -> None:
    assert membership_subject(question) == subject


def test_yes_no() -> None:
    assert is_yes_no("is logistics a priority?") and is_yes_no("onko satama mukana?")
    assert not is_yes_no("which sectors are prioritised?")
