"""A real conversation over REST with the running bot (Rasa server and action server, tests/conftest.py
`bot_stack`), read back from the tracker store it wrote: what bot/analytics counts is what the bot recorded
(each answer's decision as a slot, the button, the handoff), not recovered from the replies' text."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

from bot.analytics.insights import insights
from bot.analytics.turns import load_turns
from bot.runtime import BotProcesses
from tests.conftest import post_message

REFERENCE = re.compile(r"RIS3-[0-9A-Z]{4}")


def test_a_conversation_is_read_back_as_the_bot_recorded_it(bot_stack: BotProcesses) -> None:
    sender = f"insights-{uuid.uuid4().hex[:8]}"
    said = [
        "What is smart specialisation?",
        "mitä on älykäs erikoistuminen?",
        "How many jobs has the strategy created so far?",
        '/answer_fact{"fact_id":"timeline_overview"}',
        "I'd like to talk to a real person",
        "Aino Esimerkki",
        "aino.esimerkki@example.fi",
        "/affirm",
        "/affirm",
        "/affirm",
    ]
    replies = ["\n".join(r.get("text") or "" for r in post_message(bot_stack.url, sender, text)) for text in said]
    reference = REFERENCE.search(replies[-1])
    assert reference, replies[-1]

    today = datetime.now(timezone.utc).date()
    first_day, last_day = today - timedelta(days=1), today + timedelta(days=1)
    stored = load_turns(f"sqlite:///{bot_stack.workdir / 'tracker.db'}", first_day, last_day)
    turns = [turn for turn in stored if turn.conversation_id == f"rest:{sender}"]
    assert [turn.text for turn in turns] == said
    assert all(turn.channel == "rest" for turn in turns)
    first, finnish, unknown, button, human, *form = turns

    assert first.answered and first.fact == "about_what" and first.language == "en"
    assert first.decision is not None and first.decision["channel"] == "rest" and first.decision["kind"] == "answer"
    assert isinstance(first.decision["score"], float)
    assert finnish.answered and finnish.language == "fi"
    assert unknown.dont_know and not unknown.answered and unknown.language == "en"
    assert button.button and button.intent == "answer_fact" and button.fact == "timeline_overview"
    assert human.handoff_started and human.decision is None
    assert [turn.decision for turn in form] == [None] * 5  # the form's answers are no questions
    # Read from the real tracker: the form was asking when each of them came, and not before.
    assert [turn.form_answer for turn in form] == [True] * 5 and not human.form_answer and not first.form_answer
    assert [turn.handoff_submitted for turn in form] == [False] * 4 + [True]
    assert form[-1].handoff_reference == reference.group(0)

    figures = insights(turns, first_day, last_day, timezone.utc)["totals"]
    assert figures == {
        "conversations": 1,
        "user_messages": 10,
        "questions": 4,
        "answered": 3,
        "answered_share": 0.75,
        "hedged": 0,
        "dont_know": 1,
        "dont_know_share": 0.25,
        "clarifications": 0,
        "handoffs_started": 1,
        "handoffs_submitted": 1,
        "handoff_rate": 1.0,
        "buttons": 1,
        "helpful": 0,
        "not_helpful": 0,
        "helpful_share": None,
    }
