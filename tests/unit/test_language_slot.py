"""The conversation's language is set in the Rasa server (bot.nlu.language, a component of the NLU pipeline,
and the slot's from_entity mapping in domain.yml), without a call to the action server: each message is
detected; a message that does not tell keeps the language; "in English please" / "suomeksi" switch at any
step; an answer to the handoff form's questions never switches it; button payloads say nothing.

The rules are tested as the pure function the component uses; then, with the Rasa runtime, what Rasa itself
makes of a message (the component, the real domain and config, Rasa's slot extraction) and that the
extraction calls no action.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.language import detect
from bot.nlu.language_switch import switched_language
from bot.runtime import RASA_VENV, child_environment

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("language_slot_probe.py")

FORM_ANSWERS = [
    ("Maija Meikäläinen", "handoff_name"),
    ("Anna Virtanen", "handoff_name"),
    ("Päivi", "handoff_name"),
    ("sähköposti päivi.mäkelä@kymenlaakso.fi", "handoff_contact"),
    ("kyllä", "handoff_consent"),
    ("kyllä", "handoff_confirm"),
    ("Voiko yrityksemme osallistua hankkeeseen?", "handoff_question"),
]
REQUESTS = [("suomeksi kiitos", "fi"), ("in English please", "en")]
BUTTON = '/answer_fact{"fact_id":"priorities"}'


# --- the rules -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("said", "current", "expected"), [
    ("mitkä ovat strategian painopisteet?", "en", "fi"),
    ("what are the priorities?", "fi", "en"),
    ("what are the priorities?", "en", None),  # unchanged: no slot to set
    ("ok", "fi", None),  # does not tell
    ("RIS3?", "en", None),
    ("", "en", None),
    (None, "en", None),
])
def test_each_message_is_detected_and_one_that_does_not_tell_keeps_the_language(
    said: str | None, current: str, expected: str | None
) -> None:
    assert switched_language(said, current, answering_form=False) == expected


def test_a_button_payload_says_nothing_about_the_language() -> None:
    assert switched_language(BUTTON, "fi", answering_form=False) is None
    assert switched_language('/answer_fact{"fact_id":"kiitos-painopisteet"}', "en", answering_form=False) is None


@pytest.mark.parametrize(("said", "slot"), FORM_ANSWERS)
def test_answers_to_the_form_keep_an_english_conversation_english(said: str, slot: str) -> None:
    assert detect(said) == "fi"  # outside the form, each of these would switch to Finnish
    assert switched_language(said, "en", answering_form=False) == "fi"
    assert switched_language(said, "en", answering_form=True) is None


def test_a_finnish_conversation_stays_finnish_on_an_english_looking_name() -> None:
    assert detect("John Smith thanks") == "en"
    assert switched_language("John Smith thanks", "fi", answering_form=True) is None


@pytest.mark.parametrize(("said", "language"), REQUESTS)
def test_an_explicit_request_switches_even_inside_the_form(said: str, language: str) -> None:
    other = "en" if language == "fi" else "fi"
    assert switched_language(said, other, answering_form=True) == language
    assert switched_language(said, language, answering_form=True) is None


# --- what Rasa makes of it -------------------------------------------------------------------------------


def case(text: str, language: str, form: str | None = None, slot: str | None = None) -> dict[str, Any]:
    return {"text": text, "language": language, "form": form, "requested_slot": slot}


RASA_CASES: list[tuple[dict[str, Any], str]] = [
    (case("mitkä ovat strategian painopisteet?", "en"), "fi"),
    (case("what are the priorities?", "fi"), "en"),
    (case("ok", "fi"), "fi"),
    (case(BUTTON, "fi"), "fi"),
    *[(case(said, "en", "handoff_form", slot), "en") for said, slot in FORM_ANSWERS],
    (case("John Smith thanks", "fi", "handoff_form", "handoff_name"), "fi"),
    *[(case(said, "en" if lang == "fi" else "fi", "handoff_form", "handoff_name"), lang) for said, lang in REQUESTS],
    # The addition to an open request is no answer to the form's questions: it is detected as any message.
    (case("Lisäksi haluaisin tietää rahoituksesta", "en", "handoff_addition_form", "handoff_addition"), "fi"),
]


@pytest.fixture(scope="module")
def rasa_results() -> list[dict[str, Any]]:
    python = RASA_VENV / "bin" / "python"
    if not python.exists():
        pytest.skip(f"{python} is missing: run `bin/bot setup` first")
    result = subprocess.run(
        [str(python), str(PROBE)],
        input=json.dumps([c for c, _ in RASA_CASES]),
        cwd=ROOT,
        env=child_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("index", range(len(RASA_CASES)), ids=[c["text"][:30] for c, _ in RASA_CASES])
def test_rasa_sets_the_slot_from_the_message_without_an_action_call(
    rasa_results: list[dict[str, Any]], index: int
) -> None:
    given, expected = RASA_CASES[index]
    result = rasa_results[index]
    assert result["language"] == expected, (given, result)
    # The entity only when the language changes: an unchanged language adds no event to the conversation.
    assert result["entities"] == ([expected] if expected != given["language"] else []), (given, result)
    assert result["remote_calls"] == [], "slot extraction must not call the action server"
