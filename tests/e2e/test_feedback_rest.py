"""Feedback on answers over REST against the real Rasa server and action server (tests/conftest.py `bot_stack`):
the question under each answer with its payloads, Yes and No pressed by sending those payloads, a No offering the
project manager, an older answer's buttons, bad payloads; what was pressed read back from the tracker store."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from bot.analytics.review import NOT_HELPFUL, collect_questions
from bot.analytics.turns import TurnRecord, load_turns
from bot.runtime import BotProcesses
from tests.conftest import post_message

QUESTION = {"en": "Did this answer your question?", "fi": "Vastasiko tämä kysymykseesi?"}
OFFER = {"en": "Would you like me to pass your question", "fi": "Haluatko, että välitän kysymyksesi"}
THANKS = {"en": "Thank you for your feedback", "fi": "Kiitos palautteesta"}


def feedback_buttons(replies: list[dict[str, Any]], language: str) -> dict[str, str]:
    """The feedback question's buttons, title -> payload; asserts there is exactly one such question."""
    asked = [r for r in replies if r.get("text") == QUESTION[language]]
    assert len(asked) == 1, replies
    return {b["title"]: b["payload"] for b in asked[0]["buttons"]}


def ref_of(payload: str) -> str:
    assert payload.startswith("/answer_feedback{")
    body = json.loads(payload[len("/answer_feedback") :])
    assert set(body) == {"helpful", "answer_ref"} and len(body["answer_ref"]) == 10
    return str(body["answer_ref"])


def text_of(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def turns_of(bot: BotProcesses, sender: str) -> list[TurnRecord]:
    today = datetime.now(timezone.utc).date()
    stored = load_turns(f"sqlite:///{bot.workdir / 'tracker.db'}", today - timedelta(days=1), today + timedelta(days=1))
    return [t for t in stored if t.conversation_id == f"rest:{sender}"]


def test_no_on_an_answer_offers_the_project_manager_and_reaches_review(bot_stack: BotProcesses) -> None:
    sender = f"feedback-{uuid.uuid4().hex[:8]}"
    replies = post_message(bot_stack.url, sender, "What are the priorities of the strategy?")
    assert "Source:" in text_of(replies)
    buttons = feedback_buttons(replies, "en")
    assert list(buttons) == ["Yes", "No"]
    assert ref_of(buttons["Yes"]) == ref_of(buttons["No"])

    said_no = post_message(bot_stack.url, sender, buttons["No"])
    assert OFFER["en"] in text_of(said_no)
    assert [b["payload"] for r in said_no for b in r.get("buttons") or []] == ["/affirm", "/deny"]
    form = post_message(bot_stack.url, sender, "/affirm")
    assert "What is your name?" in text_of(form)
    post_message(bot_stack.url, sender, "/cancel")

    answer = next(t for t in turns_of(bot_stack, sender) if t.decision and t.decision.get("answered"))
    assert answer.helpful is False and answer.decision and answer.decision["ref"] == ref_of(buttons["No"])
    queued = collect_questions(turns_of(bot_stack, sender), lambda _: None)
    assert [(q.text, q.reasons[NOT_HELPFUL]) for q in queued] == [("What are the priorities of the strategy?", 1)]


def test_yes_in_finnish_and_an_older_answers_buttons(bot_stack: BotProcesses) -> None:
    sender = f"palaute-{uuid.uuid4().hex[:8]}"
    first = feedback_buttons(post_message(bot_stack.url, sender, "Mitkä ovat strategian painopisteet?"), "fi")
    assert list(first) == ["Kyllä", "Ei"]
    second = feedback_buttons(post_message(bot_stack.url, sender, "Kuka on projektipäällikkö?"), "fi")
    assert ref_of(first["Kyllä"]) != ref_of(second["Kyllä"])
    # The first answer's Yes, pressed after the second answer, counts for the first answer.
    assert THANKS["fi"] in text_of(post_message(bot_stack.url, sender, first["Kyllä"]))
    # Pressed again (another tab, a double click): thanked, not counted twice or turned around.
    assert THANKS["fi"] in text_of(post_message(bot_stack.url, sender, first["Ei"]))
    answers = [t for t in turns_of(bot_stack, sender) if t.decision and t.decision.get("answered")]
    assert [t.helpful for t in answers] == [True, None]


def test_a_judged_fact_is_not_asked_about_again(bot_stack: BotProcesses) -> None:
    sender = f"feedback-again-{uuid.uuid4().hex[:8]}"
    buttons = feedback_buttons(post_message(bot_stack.url, sender, "What are the priorities of the strategy?"), "en")
    post_message(bot_stack.url, sender, buttons["Yes"])
    again = post_message(bot_stack.url, sender, "What are the priorities of the strategy?")
    assert "Source:" in text_of(again) and QUESTION["en"] not in text_of(again)


def test_bad_payloads_are_thanked_and_lose_nothing(bot_stack: BotProcesses) -> None:
    sender = f"feedback-bad-{uuid.uuid4().hex[:8]}"
    buttons = feedback_buttons(post_message(bot_stack.url, sender, "What are the priorities of the strategy?"), "en")
    for payload in (
        '/answer_feedback{"helpful":"no","answer_ref":"0000000000"}',  # no such answer here
        '/answer_feedback{"helpful":"perhaps","answer_ref":"' + ref_of(buttons["No"]) + '"}',
        '/answer_feedback{"helpful":"no"}',
        "/answer_feedback{not json",
        '/answer_feedback{"helpful":"no","answer_ref":"<script>alert(1)</script>"}',
    ):
        replies = post_message(bot_stack.url, sender, payload)
        assert replies and all("Traceback" not in (r.get("text") or "") for r in replies), payload
    # The real button still works afterwards, once.
    assert OFFER["en"] in text_of(post_message(bot_stack.url, sender, buttons["No"]))
    answer = next(t for t in turns_of(bot_stack, sender) if t.decision and t.decision.get("answered"))
    assert answer.helpful is False
