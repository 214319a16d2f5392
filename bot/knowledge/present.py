"""Words that place a question in the present ("the current priorities", "nykyiset painopisteet").

Where today stands against the knowledge is said by bot/knowledge/currency.py, after the answer; which fact
answers is the same with or without such a word. The fact classifier reads a question without them: the
training questions rarely carry them, and a rare word pulled "Mitkä ovat nykyiset painopisteet?" towards "none".
"""

from __future__ import annotations

import re

_PRESENT = re.compile(
    r"\b(current(ly)?|nowadays|at (the )?(moment|present)|presently|right now|"
    r"nykyi\w*|nykyään|tällä hetkellä|tämänhetki\w*|ajankohtai\w*)\b",
    re.IGNORECASE,
)


def without_present(text: str) -> str:
    """The text with its present-time qualifiers taken out (the rest as it was, spaces tidied)."""
    stripped = _PRESENT.sub(" ", text)
    return " ".join(stripped.split()) if stripped != text else text
