"""Contact, name and question checks of the handoff form."""

from __future__ import annotations

import pytest

from bot.handoff.reference import ALPHABET, PATTERN, new_reference, normalise_reference
from bot.handoff.validation import (
    InvalidContact,
    InvalidName,
    InvalidQuestion,
    validate_contact,
    validate_name,
    validate_question,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("maija@yritys.fi", "maija@yritys.fi"),
        ("  Maija.Meikalainen@Kymenlaakso.FI ", "Maija.Meikalainen@kymenlaakso.fi"),
        ("first.last+ris3@sub.example.co.uk", "first.last+ris3@sub.example.co.uk"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("info@kärkkäinen.fi", "info@kärkkäinen.fi"),
        ("a@b.xn--p1ai", "a@b.xn--p1ai"),
    ],
)
def test_valid_emails_are_normalised(text: str, expected: str) -> None:
    assert validate_contact(text) == ("email", expected)


@pytest.mark.parametrize(
    "text",
    [
        "maija@",
        "@yritys.fi",
        "maija@yritys",  # no top-level domain
        "maija@yritys.",
        "maija@.fi",
        "maija yritys@yritys.fi",
        "maija@yri tys.fi",
        "maija@@yritys.fi",
        "maija@yritys@fi.fi",
        ".maija@yritys.fi",
        "maija..m@yritys.fi",
        "maija@-yritys.fi",
        "maija@yritys.f1",
        "maija@yritys.f",
        "maija@" + "a" * 250 + ".fi",  # over 254 characters
        "m" * 65 + "@yritys.fi",  # local part over 64
        "maija@yritys.fi\nBcc: x@y.fi",  # a header injection attempt
        "<script>@x.fi",
    ],
)
def test_invalid_emails_are_rejected(text: str) -> None:
    with pytest.raises(InvalidContact) as raised:
        validate_contact(text)
    assert raised.value.key == "invalid_email"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("044 747 8512", "+358447478512"),
        ("0447478512", "+358447478512"),
        ("044-747-8512", "+358447478512"),
        ("(05) 234 4000", "+35852344000"),
        ("+358 44 747 8512", "+358447478512"),
        ("+358 (0)44 747 8512", "+358447478512"),
        ("+46 8 123 456 78", "+46812345678"),
        ("+1 (212) 555-0100", "+12125550100"),
        ("00358 44 747 8512", "+358447478512"),
        ("7478512", "7478512"),  # no prefix: kept as given, not guessed
    ],
)
def test_valid_phones_are_normalised(text: str, expected: str) -> None:
    assert validate_contact(text) == ("phone", expected)


@pytest.mark.parametrize(
    "text",
    [
        "123456",  # six digits
        "+358 44 747 8512 1234",  # sixteen digits
        "044 747 85x2",
        "++358447478512",
        "358+447478512",
        "044 (747 8512",
        "044/747/8512",
        "0 0 0",
    ],
)
def test_invalid_phones_are_rejected(text: str) -> None:
    with pytest.raises(InvalidContact) as raised:
        validate_contact(text)
    assert raised.value.key in ("invalid_phone", "invalid_contact")


@pytest.mark.parametrize(
    ("text", "key"), [("", "empty_contact"), ("   ", "empty_contact"), ("call me", "invalid_contact")]
)
def test_neither_email_nor_phone(text: str, key: str) -> None:
    with pytest.raises(InvalidContact) as raised:
        validate_contact(text)
    assert raised.value.key == key


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Maija", "Maija"), ("  Jean-Luc   O'Neil ", "Jean-Luc O'Neil"), ("Äijälä 2", "Äijälä 2"), ("李雷", "李雷")],
)
def test_valid_names(text: str, expected: str) -> None:
    assert validate_name(text) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "empty_name"),
        ("   ", "empty_name"),
        ("12345", "invalid_name"),
        ("!!! ???", "invalid_name"),
        ("Maija\x00", "invalid_name"),
        ("M" * 101, "name_too_long"),
    ],
)
def test_invalid_names(text: str, key: str) -> None:
    with pytest.raises(InvalidName) as raised:
        validate_name(text)
    assert raised.value.key == key


def test_name_of_exactly_100_characters_is_accepted() -> None:
    assert validate_name("M" * 100) == "M" * 100


def test_question_must_have_text_and_a_limit() -> None:
    assert validate_question("  Mikä on RIS3? ") == "Mikä on RIS3?"
    for text, key in (("", "empty_question"), ("x" * 4001, "question_too_long")):
        with pytest.raises(InvalidQuestion) as raised:
            validate_question(text)
        assert raised.value.key == key


def test_references_use_the_unambiguous_alphabet() -> None:
    assert not set("0O1I") & set(ALPHABET)
    references = {new_reference() for _ in range(200)}
    assert all(PATTERN.match(r) for r in references)
    assert len(references) > 190  # random enough that collisions are rare
    assert normalise_reference(" ris3 7k2q ") == "RIS3-7K2Q"
