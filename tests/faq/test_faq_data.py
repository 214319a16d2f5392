"""The FAQ entries (knowledge/faq.yml) and the FAQ cases (tests/faq/cases) themselves."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from bot.faq.cases import load_cases, nlu_examples, normalise, overlapping
from bot.faq.entries import FaqError, check_faq

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = ROOT / "knowledge"


def test_the_faq_is_consistent_with_the_facts() -> None:
    entries = check_faq(KNOWLEDGE)
    assert len(entries) >= 12
    assert all(e.variants.get("en") and e.variants.get("fi") for e in entries)
    assert {"about", "priorities", "timeline", "project", "contact", "brochure", "publisher"} <= {
        e.topic for e in entries
    }


def _copy(tmp_path: Path, faq: str) -> Path:
    shutil.copy(KNOWLEDGE / "facts.yml", tmp_path / "facts.yml")
    (tmp_path / "faq.yml").write_text(faq, encoding="utf-8")
    return tmp_path


def test_a_wrong_fact_id_fails_naming_the_entry(tmp_path: Path) -> None:
    faq = """faq:
  - id: good
    questions: {en: ["Who?"], fi: ["Kuka?"]}
    facts: [contact_project_manager]
  - id: priorities_typo
    questions: {en: ["What are the priorities?"], fi: ["Mitkä ovat painopisteet?"]}
    facts: [priorities_all, priority_logistix]
"""
    with pytest.raises(FaqError, match=r"entry 'priorities_typo': unknown fact id 'priority_logistix'") as info:
        check_faq(_copy(tmp_path, faq))
    assert "'good'" not in str(info.value)


def test_an_entry_without_finnish_variants_fails(tmp_path: Path) -> None:
    faq = "faq:\n  - id: english_only\n    questions: {en: ['Who?']}\n    facts: [contact_project_manager]\n"
    with pytest.raises(FaqError, match=r"entry 'english_only': no fi question variants"):
        check_faq(_copy(tmp_path, faq))


def test_the_cases_cover_every_topic_in_both_languages() -> None:
    cases = load_cases()
    assert len(cases) >= 150
    per = Counter((c.topic, c.language) for c in cases)
    for topic in ("about", "priorities", "timeline", "project", "contact", "brochure", "publisher",
                  "out_of_scope", "smalltalk", "handoff"):
        assert per[(topic, "en")] and per[(topic, "fi")], topic
    assert all(c.language in c.tags for c in cases)


def test_no_case_question_is_a_training_example() -> None:
    assert nlu_examples(ROOT / "data" / "nlu")
    overlap = overlapping(load_cases(), ROOT / "data" / "nlu")
    assert not overlap, "FAQ cases copied from data/nlu: " + "; ".join(c.question for c in overlap)


def test_the_overlap_check_ignores_case_and_punctuation(tmp_path: Path) -> None:
    (tmp_path / "nlu.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: ask\n  examples: |\n    - Who is the [project manager](role)?\n',
        encoding="utf-8",
    )
    cases_dir = tmp_path / "cases"
    cases_dir.mkdir()
    (cases_dir / "c.yml").write_text(
        "- question: 'WHO is the project manager!!'\n  language: en\n  tags: [contact, en]\n  expect: [x]\n",
        encoding="utf-8",
    )
    assert normalise("Who is the project-manager?") == "who is the project manager"
    assert len(overlapping(load_cases(cases_dir), tmp_path)) == 1


def test_the_conversation_cases_follow_up_in_both_languages() -> None:
    conversations = [c for c in load_cases() if c.is_conversation]
    assert len(conversations) >= 12
    per_language = Counter(c.language for c in conversations)
    assert per_language["en"] >= 6 and per_language["fi"] >= 6
    assert all(2 <= len(c.turns) <= 4 for c in conversations)
    # Each turn checks its own reply: a turn without expectations would pass whatever the bot says.
    assert all(t.expect or t.forbid for c in conversations for t in c.turns)
    assert all("conversation" in c.tags for c in conversations)
