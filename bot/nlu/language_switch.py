"""Whether a user message switches the conversation's language, and to which.

Pure Python (no Rasa import), so both runtimes and the unit tests can use it. The rules:
- each message's language is detected (bot.language.detect); a message that does not tell keeps the
  conversation's language;
- an explicit request ("in English please", "suomeksi") switches at any step, also inside a form;
- an answer to a form's question (a name, an address, a yes) never switches it: "Päivi" is as English as "John";
- a button payload ("/answer_fact{...}") says nothing about the language.
"""

from __future__ import annotations

from bot.language import detect, requested_language

# Rasa's prefix of a message that names its intent directly (buttons).
INTENT_MESSAGE_PREFIX = "/"


def language_of_message(text: str | None, answering_form: bool) -> str | None:
    """The language a message asks for or is written in, or None when it does not tell."""
    if not text or text.startswith(INTENT_MESSAGE_PREFIX):
        return None
    return requested_language(text) or (None if answering_form else detect(text))


def switched_language(text: str | None, current: str | None, answering_form: bool) -> str | None:
    """The conversation's new language after this message, or None when it keeps `current`."""
    language = language_of_message(text, answering_form)
    return None if language == current else language
