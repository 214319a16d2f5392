"""End to end over REST against the real Rasa and action servers (issue 25 items 9 and 10): "the second one"
after pressing an item of a list still means the list the user saw; "tell me more" after one priority says that
is all the page says; where the office is gets the addresses, in both languages."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import post_message


class Conversation:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sender = f"lists-{uuid.uuid4().hex[:8]}"

    def say(self, message: str) -> str:
        return "\n".join(r.get("text") or "" for r in post_message(self.url, self.sender, message))


def test_an_ordinal_after_pressing_an_item_means_the_list_seen(bot_url: str) -> None:
    chat = Conversation(bot_url)
    assert "logistics" in chat.say("What are the priorities?")
    assert "logistical priority" in chat.say('/answer_fact{"fact_id":"priority_logistics"}')  # its button
    second = chat.say("the second one")
    assert "renewable materials and energy" in second.lower() and "data economy" not in second.lower()


def test_tell_me_more_after_one_priority_says_that_is_all(bot_url: str) -> None:
    chat = Conversation(bot_url)
    chat.say('/answer_fact{"fact_id":"priority_logistics"}')
    assert "That is all the page says about smart and green logistics." in chat.say("tell me more")
    finnish = Conversation(bot_url)
    finnish.say("Mikä on logistiikan painopiste?")
    assert "Sivulla ei kerrota enempää aiheesta" in finnish.say("kerro lisää")


@pytest.mark.parametrize("question", ["Where is the office?", "Missä toimisto on?"])
def test_where_the_office_is_gets_the_addresses(bot_url: str, question: str) -> None:
    reply = Conversation(bot_url).say(question)
    assert "Hovioikeudenkatu 6" in reply and "Laivurinkatu 7" in reply, reply
