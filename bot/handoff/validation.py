"""Checking and normalising what the user typed into the handoff form.

Errors carry a message key (e.g. "invalid_email"), never a sentence: the form picks the words in the
conversation's language.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

ContactKind = Literal["email", "phone"]

MAX_EMAIL = 254  # RFC 5321 path limit
MAX_LOCAL_PART = 64
MAX_NAME = 100
MAX_QUESTION = 4000
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 7, 15  # E.164 allows at most 15 digits
FINNISH_COUNTRY_CODE = "358"

_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ()\-]+$")


class InvalidInput(ValueError):
    """Input the form should ask for again; `key` names the message to show."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class InvalidContact(InvalidInput):
    pass


class InvalidName(InvalidInput):
    pass


class InvalidQuestion(InvalidInput):
    pass


def _ascii_domain(domain: str) -> str | None:
    # "yritys.fi" and "kärkkäinen.fi" alike: internationalised names are checked in their ASCII form.
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def validate_email(text: str) -> str:
    address = text.strip()
    if len(address) > MAX_EMAIL or any(c.isspace() for c in address) or address.count("@") != 1:
        raise InvalidContact("invalid_email")
    local, domain = address.split("@")
    ascii_domain = _ascii_domain(domain.rstrip("."))
    if not local or len(local) > MAX_LOCAL_PART or not _LOCAL_PART.match(local) or not ascii_domain:
        raise InvalidContact("invalid_email")
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or not _TLD.match(labels[-1]):
        raise InvalidContact("invalid_email")
    # The domain is case-insensitive; the local part may not be, so it is kept as typed.
    return f"{local}@{domain.rstrip('.').lower()}"


def validate_phone(text: str) -> str:
    number = text.strip()
    if not _PHONE_CHARS.match(number) or number.count("(") != number.count(")"):
        raise InvalidContact("invalid_phone")
    if number.startswith("+"):
        # "+358 (0)44 …": the bracketed trunk zero is dialled only from inside the country.
        number = number.replace("(0)", "", 1)
    digits = re.sub(r"\D", "", number)
    if number.startswith("+"):
        normalised = "+" + digits
    elif digits.startswith("00"):  # the international call prefix used in Finland and most of Europe
        normalised = "+" + digits[2:]
    elif digits.startswith("0"):  # a Finnish number with its trunk prefix: 044 … → +358 44 …
        normalised = "+" + FINNISH_COUNTRY_CODE + digits[1:]
    else:
        normalised = digits  # no prefix at all: keep it as given rather than guess a country
    count = len(normalised.lstrip("+"))
    if not MIN_PHONE_DIGITS <= count <= MAX_PHONE_DIGITS:
        raise InvalidContact("invalid_phone")
    return normalised


def validate_contact(text: str) -> tuple[ContactKind, str]:
    """An e-mail address or a phone number, as (kind, normalised form); raises InvalidContact."""
    stripped = (text or "").strip()
    if not stripped:
        raise InvalidContact("empty_contact")
    if "@" in stripped:
        return "email", validate_email(stripped)
    if re.search(r"\d", stripped) and not re.search(r"[^\W\d_]", stripped):
        return "phone", validate_phone(stripped)
    raise InvalidContact("invalid_contact")


def validate_name(text: str) -> str:
    """The name with runs of white space made single; raises InvalidName."""
    name = " ".join((text or "").split())
    if not name:
        raise InvalidName("empty_name")
    if len(name) > MAX_NAME:
        raise InvalidName("name_too_long")
    # A name has at least one letter in any script; "12345" or "!!!" is a slip, not a name.
    if not any(c.isalpha() for c in name) or any(unicodedata.category(c).startswith("C") for c in name):
        raise InvalidName("invalid_name")
    return name


def validate_question(text: str) -> str:
    question = (text or "").strip()
    if not question:
        raise InvalidQuestion("empty_question")
    if len(question) > MAX_QUESTION:
        raise InvalidQuestion("question_too_long")
    return question
