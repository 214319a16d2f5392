"""Privacy in the conversation: questions about what is kept, and the user's erasure (docs/privacy.md).

The words are the council's (privacy.yml, bot.privacy.notice), never a strategy fact and never the handoff form.
Asking in words to erase is offered with a confirmation; the erasure itself (a button, the widget's menu,
Telegram's /forget, the REST call) erases the conversation's tickets and Review texts here, through the one
implementation in bot.privacy.records, and sets `conversation_erased`: the tracker store then deletes the
conversation's events instead of saving the turn (bot/tracker_store.py), so nothing of it stays there either.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of
from actions.group_chat import in_group_chat
from bot.handoff.config import HandoffSettings
from bot.privacy import log
from bot.privacy.notice import texts
from bot.privacy.records import PersonalData, PrivacyStoreUnavailable

logger = logging.getLogger(__name__)
ERASE_PAYLOAD = "/erase_conversation"
KEEP_PAYLOAD = "/deny"
# What the website widget recognises to forget its copy of the conversation and start a new session.
WEB_CHANNEL = "socketio"


# The channels as Insights names them (Rasa calls the website chat "socketio").
_CHANNEL_NAMES = {WEB_CHANNEL: "web"}


def _channel(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "unknown"


def _user_texts(tracker: Tracker) -> list[str]:
    """What the user typed in this conversation, to find it in Review's texts too."""
    return [
        str(event.get("text"))
        for event in tracker.events
        if event.get("event") == "user" and event.get("text") and not str(event.get("text")).startswith("/")
    ]


class ActionPrivacy(Action):
    def name(self) -> str:
        return "action_privacy"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        language = language_of(tracker)
        privacy = texts()
        buttons = []
        if privacy.statement_url:
            buttons.append({"title": privacy.say("statement_button", language), "url": privacy.statement_url})
        dispatcher.utter_message(text=privacy.answer(language), buttons=buttons)
        return []


class ActionOfferErasure(Action):
    def name(self) -> str:
        return "action_offer_erasure"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        language = language_of(tracker)
        privacy = texts()
        if in_group_chat(tracker):
            dispatcher.utter_message(text=privacy.say("erase_in_private", language))
            return []
        buttons = [
            {"title": privacy.say("erase_button", language), "payload": ERASE_PAYLOAD},
            {"title": privacy.say("keep_button", language), "payload": KEEP_PAYLOAD},
        ]
        dispatcher.utter_message(text=privacy.say("erase_offer", language), buttons=buttons)
        return []


class ActionKeepConversation(Action):
    def name(self) -> str:
        return "action_keep_conversation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=texts().say("kept_after_all", language_of(tracker)))
        return []


class ActionEraseConversation(Action):
    def name(self) -> str:
        return "action_erase_conversation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        language = language_of(tracker)
        privacy = texts()
        if in_group_chat(tracker):
            # A group's conversation is the member's own, but the group reads the reply: erasure goes private.
            dispatcher.utter_message(text=privacy.say("erase_in_private", language))
            return []
        channel = _channel(tracker)
        settings = HandoffSettings()
        # The tracker's events are deleted by the tracker store when it sees the slot below (in the Rasa
        # process, under the conversation's lock); here the tickets and Review's texts.
        data = PersonalData(settings.database_url, None)
        try:
            subject = data.find("conversation", tracker.sender_id)
            erased = data.erase(
                subject,
                requested_by=log.BY_USER,
                actor=_CHANNEL_NAMES.get(channel, channel),
                found_by="conversation id",
                conversation_texts={tracker.sender_id: _user_texts(tracker)},
            )
        except PrivacyStoreUnavailable as exc:
            logger.error("erasure at the user's request failed: %s", exc)
            dispatcher.utter_message(text=privacy.say("erase_failed", language))
            return []
        finally:
            data.close()
        logger.info("conversation erased at the user's request (%s, %d tickets)", channel, erased.tickets)
        message = privacy.say("erased", language)
        if channel == WEB_CHANNEL:
            # The widget forgets its own copy and starts a new session on this mark.
            dispatcher.utter_message(json_message={"text": message, "conversation_erased": True})
        else:
            dispatcher.utter_message(text=message)
        return [SlotSet("conversation_erased", True)]
