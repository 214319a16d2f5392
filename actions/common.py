"""What every action needs: the conversation's language and the knowledge-unavailable reply."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.language import ENGLISH, LANGUAGES


def language_of(tracker: Tracker) -> str:
    language = tracker.get_slot("language")
    return language if language in LANGUAGES else ENGLISH


def send_knowledge_unavailable(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(response="utter_knowledge_unavailable")
