"""The handoff form's name question: what passes for a name and what is asked again (issue 12, items 2 and 3).
That answering the form never switches the conversation's language: tests/unit/test_language_slot.py."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.handoff.validation import InvalidName, validate_name_answer

REAL_NAMES = [
    "Maija Meikäläinen",
    "Anna Virtanen",
    "Päivi",
    "John Smith",
    "Jürgen Müller",
    "O'Brien",
    "Sean O’Brien",
    "Anna-Liisa",
    "Anna-Liisa Virtanen",
    "Jean-Luc O'Neil",
    "Ludwig van Beethoven",
    "Maria de los Ángeles García López",
    "Ole Gunnar Solskjær",
    "Will Smith",
    "Can Yılmaz",
    "No Hong-chul",
    "Do Van Anh",
    "Into Virtanen",
    "Toivo Kallio",
    "Dr. Anna Virtanen",
    "J. R. R. Tolkien",
    "maija meikäläinen",
    "李雷",
    "محمد بن سلمان",
    "Test Person",
    "<b>Robert'); DROP TABLE tickets;--</b>",  # stored as text; the e2e tests check that
]

NOT_NAMES = [
    # yes, no and thanks, in both languages
    "Kyllä", "kyllä kiitos", "yes", "Yes please", "no", "No thanks", "ei", "joo", "ok", "okei", "thanks",
    "kiitos", "en tiedä", "I don't know",
    # greetings
    "hello", "Hi there", "Hei", "moi", "huomenta",
    # questions and sentences
    "What is RIS3?", "what are the priorities", "Mikä tämä on", "miksi", "who are you", "Can you help me",
    "I want to talk to a person", "haluan puhua ihmisen kanssa", "en halua kertoa", "tell me more",
    "I am not telling", "anonymous", "in English please", "cancel please",
    # digits, addresses
    "044 123 4567", "Matti 2", "maija@yritys.fi", "https://example.com", "www.example.fi", "example.fi",
]


@pytest.mark.parametrize("name", REAL_NAMES)
def test_real_names_are_taken_as_typed(name: str) -> None:
    assert validate_name_answer(name) == name


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("Hi, I'm Anna", "Anna"),
        ("my name is Jean-Luc O'Neil", "Jean-Luc O'Neil"),
        ("It’s Päivi.", "Päivi"),
        ("Hei, nimeni on Päivi", "Päivi"),
        ("mun nimi on Matti Meikäläinen", "Matti Meikäläinen"),
        ("Päivi täällä", "Päivi"),
        ("  Anna   Virtanen  ", "Anna Virtanen"),
    ],
)
def test_an_introduction_around_the_name_is_left_out(said: str, name: str) -> None:
    assert validate_name_answer(said) == name


@pytest.mark.parametrize("said", NOT_NAMES)
def test_what_is_clearly_not_a_name_is_refused(said: str) -> None:
    with pytest.raises(InvalidName):
        validate_name_answer(said)


def test_the_structural_checks_still_apply() -> None:
    for said, key in (("", "empty_name"), ("!!! ???", "invalid_name"), ("M" * 101, "name_too_long")):
        with pytest.raises(InvalidName) as raised:
            validate_name_answer(said)
        assert raised.value.key == key


# --- the form's action ------------------------------------------------------------------------------------


def form_tracker(text: str, requested_slot: str | None, language: str, intent: str = "inform") -> Tracker:
    return Tracker(
        sender_id="unit-name",
        slots={"language": language, "requested_slot": requested_slot},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": "handoff_form"} if requested_slot else {},
        latest_action_name="action_listen",
    )


@pytest.fixture(scope="module")
def handoff() -> ModuleType:
    return importlib.import_module("actions.handoff")


@pytest.mark.parametrize(("said", "language"), [("Kyllä", "en"), ("yes", "fi"), ("What is RIS3?", "en")])
def test_the_form_asks_again_for_what_is_not_a_name(
    handoff: ModuleType, domain: dict[str, Any], said: str, language: str
) -> None:
    dispatcher = CollectingDispatcher()
    slots = handoff.ValidateHandoffForm().validate_handoff_name(
        said, dispatcher, form_tracker(said, "handoff_name", language), domain
    )
    assert slots == {"handoff_name": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_invalid_name"]


def test_the_form_keeps_the_name_without_its_introduction(handoff: ModuleType, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    slots = handoff.ValidateHandoffForm().validate_handoff_name(
        "My name is Anna Virtanen", dispatcher, form_tracker("My name is Anna Virtanen", "handoff_name", "en"), domain
    )
    assert slots == {"handoff_name": "Anna Virtanen"} and not dispatcher.messages

