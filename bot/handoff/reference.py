"""Ticket references such as RIS3-7K2Q: short enough to read over the phone, without the look-alike
characters 0/O and 1/I, so that a user who copies one by hand still gets it right."""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
PREFIX = "RIS3-"
LENGTH = 4
PATTERN = re.compile(rf"^{PREFIX}[{ALPHABET}]{{{LENGTH}}}$")


def new_reference() -> str:
    # secrets, not random: references must not be guessable from one another.
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_reference(text: str) -> str:
    """What a user types ("ris3-7k2q", " RIS3 7K2Q ") as the stored form."""
    compact = re.sub(r"[\s_-]+", "", text.strip().upper())
    if compact.startswith("RIS3"):
        compact = compact[4:]
    return PREFIX + compact
