"""Language detection: labelled messages, short and mixed ones, explicit requests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.faq.cases import DEFAULT_CASES, load_case_file
from bot.language import detect, requested_language

DATA = Path(__file__).resolve().parent.parent / "data"
CASES = yaml.safe_load((DATA / "language_cases.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[repr(c["text"])[:40] for c in CASES])
def test_labelled_messages(case: dict) -> None:
    assert detect(case["text"]) == case["lang"]


@pytest.mark.parametrize("lang", ["en", "fi"])
def test_end_to_end_questions_are_never_taken_for_the_other_language(lang: str) -> None:
    questions = [case.question for case in load_case_file(DEFAULT_CASES / f"e2e_{lang}.yml")]
    wrong = [q for q in questions if detect(q) not in (lang, None)]
    assert not wrong


def test_explicit_requests_win_over_the_words_they_are_written_in() -> None:
    assert requested_language("Can you answer in Finnish, please?") == "fi"
    assert requested_language("voisitko vastata englanniksi") == "en"
    assert requested_language("what are the priorities") is None
    # Asking for both is no request at all.
    assert requested_language("in English or suomeksi?") is None


def test_names_alone_say_nothing_but_inflected_names_are_finnish() -> None:
    assert detect("Kouvola") is None
    assert detect("Kouvolassa?") == "fi"
    assert detect("Tolmuselta") == "fi"


def test_odd_input_does_not_break_detection() -> None:
    for text in ["", "   ", "\x00\x01", "😀😀", "1234", "x" * 100000, "<script>alert(1)</script>"]:
        assert detect(text) in (None, "en", "fi")


# Issue 25 item 14: "@bot Anna Eval, 040 765 4321" in a group (no form there) switched an English member to Finnish.
@pytest.mark.parametrize(
    "text", ["Anna Eval, 040 765 4321", "anna@example.fi", "Anna Virtanen, anna.virtanen@yritys.fi", "+358 40 765 4321"]
)
def test_contact_details_and_the_name_given_with_them_do_not_tell_the_language(text: str) -> None:
    assert detect(text) is None


def test_words_around_contact_details_still_tell() -> None:
    assert detect("Kiitos, tässä numeroni 040 123 4567") == "fi"
    assert detect("Thanks, my number is 040 123 4567") == "en"
    assert detect("Anna tietoa, kiitos") == "fi"  # no contact details: "anna" is the Finnish word
