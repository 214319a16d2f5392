"""The handoff's actions when the message comes from a Telegram group (issue 12, item 1), with a tracker
built in the test: the link to a private chat instead of the form, in the conversation's language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.group_chat import in_group_chat, private_chat_link
from actions.handoff import ActionHuman, ActionOfferHandoff
from tests.telegram.telegram_standin import BOT_USERNAME

ROOT = Path(__file__).resolve().parents[2]
LISTEN = {"event": "followup", "name": "action_listen", "timestamp": None}


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def tracker(chat_type: str | None, language: str = "en", username: str | None = BOT_USERNAME) -> Tracker:
    metadata: dict[str, Any] = {}
    if chat_type:
        metadata = {"language_code": language, "telegram": {"chat_type": chat_type, "update_id": 1, "message_id": 2}}
        if username is not None:
            metadata["telegram"]["bot_username"] = username
    return Tracker(
        sender_id="telegram:-1001234:42",
        slots={"language": language},
        latest_message={"text": "I want to talk to a person", "intent": {"name": "ask_human", "confidence": 1.0},
                        "entities": [], "metadata": metadata},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.mark.parametrize("action", [ActionHuman, ActionOfferHandoff])
@pytest.mark.parametrize(("chat_type", "language"), [("supergroup", "fi"), ("group", "en")])
def test_in_a_group_the_bot_links_to_a_private_chat_and_no_form_starts(
    action: type, chat_type: str, language: str, domain: dict[str, Any]
) -> None:
    dispatcher = CollectingDispatcher()
    events = action().run(dispatcher, tracker(chat_type, language), domain)
    (message,) = dispatcher.messages
    # The link names the group, so that the private form can offer the question asked there (issue 25 item 13).
    link = f"https://t.me/{BOT_USERNAME}?start=handoff_{language}_g1001234"
    assert message["response"] == "utter_handoff_private_chat" and "link" not in message
    assert message["buttons"] == [{"title": {"en": "Open a private chat", "fi": "Avaa yksityinen keskustelu"}[language],
                                   "url": link, "type": "web_url"}]
    assert "+358 44 747 8512" in message["contact"]
    # The next action is listening, not the form (the rules would run handoff_form after action_human).
    assert LISTEN in events and slots(events)["handoff_offered"] is False
    assert not {"handoff_name", "handoff_contact", "handoff_question"} & slots(events).keys()


def test_without_the_bots_username_the_member_is_told_how_to_write_privately(domain: dict[str, Any]) -> None:
    for username in (None, "", "evil.example/x", "a"):
        dispatcher = CollectingDispatcher()
        events = ActionHuman().run(dispatcher, tracker("supergroup", username=username), domain)
        assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_private_chat_no_link"], username
        assert LISTEN in events


@pytest.mark.parametrize("chat_type", ["private", None])
def test_outside_groups_the_form_opens_as_before(chat_type: str | None, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    events = ActionHuman().run(dispatcher, tracker(chat_type), domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_intro"]
    assert LISTEN not in events and slots(events)["handoff_name"] is None
    dispatcher = CollectingDispatcher()
    assert slots(ActionOfferHandoff().run(dispatcher, tracker(chat_type), domain)) == {"handoff_offered": True}


def test_helpers_read_only_the_telegram_metadata() -> None:
    assert in_group_chat(tracker("supergroup")) and not in_group_chat(tracker("private"))
    assert not in_group_chat(tracker(None))
    assert private_chat_link(tracker("private", "fi"), "fi") == f"https://t.me/{BOT_USERNAME}?start=handoff_fi_g1001234"


def test_the_private_chat_responses_exist_in_both_languages(domain: dict[str, Any]) -> None:
    for name in ("utter_handoff_private_chat", "utter_handoff_private_chat_no_link"):
        variations = domain["responses"][name]
        finnish = [v for v in variations if v.get("condition")]
        english = [v for v in variations if not v.get("condition")]
        assert len(finnish) == len(english) == 1, name
        assert finnish[0]["condition"] == [{"type": "slot", "name": "language", "value": "fi"}]
        if name == "utter_handoff_private_chat":
            # The button carries the link: the text neither repeats it nor runs on into the contact.
            assert all("{link}" not in v["text"] and v["text"].endswith(". {contact}") for v in variations)
