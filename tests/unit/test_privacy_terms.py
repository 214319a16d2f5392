"""The privacy domain's words (bot.nlu.privacy_terms): they recognise privacy questions and erasure requests, and
none of the other intents' training examples or the test suites' questions."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.nlu.privacy_terms import ASK_PRIVACY, REQUEST_ERASURE, privacy_intent, privacy_language
from bot.settings import PROJECT_ROOT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Is anything I write here kept on a server?", ASK_PRIVACY),
        ("GDPR information please", ASK_PRIVACY),
        ("Tallentuuko tämä keskustelu jonnekin?", ASK_PRIVACY),
        ("Mitä henkilötietoja minusta on?", ASK_PRIVACY),
        ("remove my e-mail address from your records", REQUEST_ERASURE),
        ("poistakaa kaikki kirjoittamani", REQUEST_ERASURE),
        ("What are the strategy's priorities?", None),
        ("Kuka on projektipäällikkö?", None),
        ("/erase_conversation", None),
        ("", None),
    ],
)
def test_privacy_words(text: str, expected: str | None) -> None:
    assert privacy_intent(text) == expected


def _examples(path: Path) -> list[tuple[str, str]]:
    found = []
    for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
        for line in (item.get("examples") or "").splitlines():
            text = line.strip().removeprefix("- ").strip()
            if text and "intent" in item:
                found.append((item["intent"], text))
    return found


def test_no_other_intents_example_is_taken_for_privacy() -> None:
    others = [
        (intent, text)
        for path in sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml"))
        if path.name != "privacy.yml"
        for intent, text in _examples(path)
    ]
    assert len(others) > 500
    assert [(i, t) for i, t in others if privacy_intent(t)] == []


def test_most_privacy_examples_are_recognised_by_their_words_alone() -> None:
    own = _examples(PROJECT_ROOT / "data" / "nlu" / "privacy.yml")
    agreed = sum(privacy_intent(text) == intent for intent, text in own)
    assert agreed / len(own) >= 0.7, f"{agreed} of {len(own)}"


@pytest.mark.parametrize(
    ("text", "language"),
    [("tietosuoja", "fi"), ("poistakaa tietoni", "fi"), ("privacy?", "en"), ("GDPR", None), ("/forget", None)],
)
def test_the_language_of_privacy_words(text: str, language: str | None) -> None:
    assert privacy_language(text) == language


def _questions(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node[k] for k in ("q", "question") if isinstance(node.get(k), str)]
        return found + [q for value in node.values() for q in _questions(value)]
    if isinstance(node, list):
        return [q for value in node for q in _questions(value)]
    return []


def test_no_test_suites_question_is_taken_for_privacy() -> None:
    """The FAQ cases and the end-to-end question sets ask about the strategy, its people and the handoff."""
    files = sorted((PROJECT_ROOT / "tests" / "faq" / "cases").glob("*.yml"))
    # The labelled stakeholder questions too (the e2e question sets became FAQ cases: one home for each case).
    files += [PROJECT_ROOT / "tests" / "data" / "stakeholder_questions.yml"]
    questions = [q for path in files for q in _questions(yaml.safe_load(path.read_text(encoding="utf-8")))]
    assert len(questions) > 300
    assert [q for q in questions if privacy_intent(q)] == []
