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


# Answers, greetings and the words sentences are made of, in both languages: a "name" made of them alone, or
# with two of them, is a reply to something else ("kyllä", "no thanks", "I want to talk to a person"). Words
# that are also names somewhere stay out: Anna, Will, May, Can, Do, An, He, Mun, Sun, Ole, Oli, Tai, Into.
_NOT_NAME_WORDS = frozenset(
    """
    yes no yeah yep yup nope nah ok okay sure fine maybe perhaps thanks thank please hello hi hey hiya greetings
    morning evening afternoon bye goodbye cheers sorry what what's who who's whom whose why how when where
    which i i'm i'd i've me my mine you you're your yours we our us they their them it it's its this that
    these those there here is are was were be been being am does did don't doesn't didn't can't cannot could
    would should shall must want wanna need know tell talk speak ask help contact call email e-mail mail
    phone number name anonymous nobody none nothing unknown person human someone somebody anyone anybody
    manager project strategy question about with for from to of the or not if because just really very also
    now then still too some any all more info information cancel stop quit say saying telling rather prefer
    secret private in english finnish
    kyllä joo juu jep ei en et emme ette eivät eikä okei selvä hyvä kiva kiitos kiitti kiitoksia moi moikka
    hei heippa terve moro huomenta päivää iltaa näkemiin anteeksi mikä mitä mitkä kuka ketä kenen miksi
    miten missä mistä mihin milloin kuinka paljonko onko voiko voinko voitko voisitko saako haluan haluaisin
    halua tarvitsen tiedä tiedän kerro kertoa puhua apua ihminen ihmisen ihmiselle kanssa henkilö henkilön
    joku jonkun jollekin projektipäällikkö projektipäällikön kysymys kysyä tietoa lisätietoja strategia
    strategiasta nimi nimeni nimesi sähköposti puhelin puhelinnumero numero numeroni peruuta lopeta anonyymi
    nimetön tuntematon minä mä mää minun minulle sinä sä sinun te me meidän teidän tämä tää tuo se sen sitä
    ne ja mutta myös vain vielä jo nyt sitten kun jos että täällä tässä tänne vaan ehkä on ovat olen sano
    sanoa salainen suomeksi englanniksi
    """.split()
)
# A word with its inner apostrophes and hyphens: "O'Brien", "Anna-Liisa", "don't" are one word each.
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# Greetings and introductions around a name: "Hi, I'm Anna", "Hei, nimeni on Päivi", "Päivi täällä".
_GREETING = re.compile(
    r"^(?:hi|hello|hey|good (?:morning|afternoon|evening)|hei|moi|moikka|terve|huomenta|päivää)\b\W*\s", re.IGNORECASE
)
_INTRODUCTION = re.compile(
    r"^(?:my name is|my name's|name is|name:|i am|i'm|i’m|this is|it's|it’s|it is|call me"
    r"|minun nimeni on|nimeni on|mun nimi on|nimi on|nimi:|minä olen|mä oon|mä olen)\s+",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(r"\s+(?:here|täällä|tässä)$", re.IGNORECASE)
_WEB_ADDRESS = re.compile(
    r"://|\bwww\.|\b[^\W_][\w-]*\.(?:fi|com|org|net|eu|io|info|se|de|uk|ee|ru|gov|edu)\b", re.IGNORECASE
)
MAX_NAME_WORDS = 8  # "Maria de los Ángeles García López" and other long real names fit


def validate_name_answer(text: str) -> str:
    """What the user typed when the form asked for their name: the name itself, with an introduction such
    as "my name is" or "nimeni on" left out, or InvalidName("not_a_name") for an answer that is clearly something
    else (yes or no, a greeting, a question or sentence, digits, an e-mail or web address).

    Names are many and odd, so only the clear cases are refused: "Päivi", "O'Brien", "Jürgen Müller",
    "Anna-Liisa Virtanen", "Ludwig van Beethoven" and "李雷" all pass."""
    name = validate_name(text)
    if name.startswith("/"):  # a button's payload ("/affirm") or a command, never a name
        raise InvalidName("not_a_name")
    name = _INTRODUCTION.sub("", _GREETING.sub("", name, count=1), count=1)
    name = _SIGN_OFF.sub("", name).rstrip(".!,;: ")
    if any(c.isdigit() for c in name) or "@" in name or "?" in name or _WEB_ADDRESS.search(name):
        raise InvalidName("not_a_name")
    words = [w.casefold() for w in _NAME_WORD.findall(name)]
    common = sum(w.replace("’", "'") in _NOT_NAME_WORDS for w in words)
    if not words or common == len(words) or common >= 2 or len(words) > MAX_NAME_WORDS:
        raise InvalidName("not_a_name")
    return name


def validate_question(text: str) -> str:
    question = (text or "").strip()
    if not question:
        raise InvalidQuestion("empty_question")
    if len(question) > MAX_QUESTION:
        raise InvalidQuestion("question_too_long")
    return question
