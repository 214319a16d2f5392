"""Setting a conversation's language from what a channel knows before the user's words tell it: the
Telegram user's language at /start, the widget's interface language. The bot otherwise detects the language
from each message's text (the NLU component bot.nlu.language), so a message in the other language still
switches it.

Runs in the Rasa runtime (Python 3.10, rasa 3.6).
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import OutputChannel
from rasa.shared.core.events import SlotSet

LANGUAGE_SLOT = "language"  # domain.yml: the conversation's language (en, fi)
LANGUAGES = frozenset({"en", "fi"})


async def set_language(app: Any, sender_id: str, language: str, output: OutputChannel) -> bool:
    """Sets the slot as Rasa's own POST /conversations/<id>/tracker/events would: a SlotSet event under the
    conversation's lock. False when the agent is not ready or the language is not one we speak."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    if language not in LANGUAGES or agent is None or not agent.is_ready():
        return False
    if LANGUAGE_SLOT not in {slot.name for slot in agent.domain.slots}:
        return False
    async with agent.lock_store.lock(sender_id):
        tracker = await agent.processor.fetch_tracker_and_update_session(sender_id, output)
        if tracker.get_slot(LANGUAGE_SLOT) != language:
            tracker.update(SlotSet(LANGUAGE_SLOT, language), agent.domain)
            await agent.processor.save_tracker(tracker)
    return True
