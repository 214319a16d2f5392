"""What a channel says when the bot said nothing to a message.

The bot answers every message; silence means something failed on the way, most often the action server
being down or failing (Rasa logs the error, drops the action's events and sends nothing). The user would
wait for an answer that never comes. The channels wrap Rasa's message handler with `guard`: when a message
produced no bot message, the user gets a plain apology and the project manager's contact, which is read
from knowledge/ like every fact the bot states.

Runs in the Rasa runtime (Python 3.10); imports only the knowledge store and the language detector.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage

from bot.knowledge.store import KnowledgeError, load_knowledge
from bot.language import detect

logger = logging.getLogger(__name__)

KNOWLEDGE_DIR = Path(os.environ.get("RIS3_KNOWLEDGE_DIR") or Path(__file__).resolve().parents[2] / "knowledge")
APOLOGY = {
    "en": "Sorry, I cannot answer just now because of a technical problem. Please try again in a moment.",
    "fi": "Valitettavasti en pysty vastaamaan juuri nyt teknisen vian vuoksi. Yritä hetken kuluttua uudelleen.",
}


SOURCE_LABEL = {"en": "Source", "fi": "Lähde"}


@lru_cache(maxsize=1)
def _contact() -> dict[str, str]:
    """The contact fact's text per language, followed by its source as every answer cites it."""
    try:
        knowledge = load_knowledge(KNOWLEDGE_DIR)
        fact = knowledge.facts[knowledge.contact]
        source = knowledge.sources[fact.quotes[0].source]
    except (KnowledgeError, KeyError, IndexError, OSError) as exc:
        logger.error("no contact for the apology: %s", exc)
        return {}
    texts = {lang: text for lang, text in fact.text.items() if lang in SOURCE_LABEL}
    return {lang: f"{text}\n\n{SOURCE_LABEL[lang]}: {source.citation_in(lang)}" for lang, text in texts.items()}


def apology(text: str, language: str | None = None) -> str:
    """In the message's language; when neither it nor the channel tells, in both (Finnish first)."""
    language = detect(text or "") or language
    contact = _contact()
    languages = [language] if language in APOLOGY else ["fi", "en"]
    parts = [" ".join(p for p in (APOLOGY[lang], contact.get(lang, "")) if p) for lang in languages]
    return "\n\n".join(parts)


def sent_count(output: OutputChannel) -> int | None:
    """How many messages an output channel has sent, where it can tell (None: do not guard it)."""
    count = getattr(output, "sent", None)
    if isinstance(count, int):
        return count
    if type(output) is CollectingOutputChannel:  # REST; its streaming subclass keeps no list
        return len(output.messages)
    return None


def guard(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    language_of: Callable[[UserMessage], str | None] = lambda _: None,
) -> Callable[[UserMessage], Awaitable[None]]:
    """Rasa's handler, followed by the apology when the message got no answer at all."""

    async def handler(message: UserMessage) -> None:
        before = sent_count(message.output_channel)
        try:
            await on_new_message(message)
        except Exception:
            # Logged, not raised: the user gets the apology below instead of an error status or nothing.
            logger.exception("message of %s failed", message.sender_id)
        if before is not None and sent_count(message.output_channel) == before:
            logger.warning("no answer to a message of %s: sending the apology", message.sender_id)
            await message.output_channel.send_text_message(
                message.sender_id, apology(message.text or "", language_of(message))
            )

    return handler
