"""Feedback on answers read back from the tracker store's events (bot/analytics/turns.py), counted by Insights
(bot/analytics/insights.py) and queued by Review (bot/analytics/review.py); hedged answers and answers typed into
the handoff form counted for what they are."""

from __future__ import annotations

from datetime import date, timedelta

from insights_seed import SeedConversation, SeedTurn, answer_ref, rows_of, utc

from bot.analytics.insights import csv_table, insights
from bot.analytics.review import DECLINED, HEDGED, NOT_HELPFUL, collect_questions
from bot.analytics.turns import TurnRecord, turns_from_rows

AT = utc(2026, 5, 4, 9, 0)
DAY = date(2026, 5, 4)


def read(*conversations: SeedConversation, start: float | None = None, end: float | None = None) -> list[TurnRecord]:
    rows = []
    for conversation in conversations:
        rows += [
            (
                len(rows) + n + 1,
                r["sender_id"],
                r["type_name"],
                r["timestamp"],
                r["intent_name"],
                r["action_name"],
                r["data"],
            )
            for n, r in enumerate(rows_of(conversation))
        ]
    rows.sort(key=lambda row: (row[1], row[0]))
    return list(turns_from_rows(rows, start, end))


def turn(minutes: float, text: str = "q", **values: object) -> SeedTurn:
    fields: dict[str, object] = {"intent": "ask_about", "language": "en", **values}
    return SeedTurn(AT + timedelta(minutes=minutes), text, **fields)  # type: ignore[arg-type]


def press(minutes: float, index: int, helpful: bool, language: str = "en") -> SeedTurn:
    """A press of the feedback buttons under the answer of turn `index` (the latest answer before it)."""
    word = "yes" if helpful else "no"
    payload = f'/answer_feedback{{"helpful":"{word}","answer_ref":"{answer_ref(index)}"}}'
    return turn(minutes, payload, intent="answer_feedback", language=language, detected=False, helpful=helpful)


def no_threshold(_: str) -> None:
    return None


def test_a_verdict_is_put_with_the_answer_it_names() -> None:
    conversation = SeedConversation(
        "web:a",
        "web",
        [
            turn(0, "what are the priorities", outcome="answered", fact="priorities_all"),
            press(1, 0, helpful=False),
            turn(2, "who is the project manager", outcome="answered", fact="contact_overview"),
            press(3, 2, helpful=True),
        ],
    )
    first, no, second, yes = read(conversation)
    assert first.helpful is False and second.helpful is True
    # The presses are turns of their own, neither questions nor "don't know".
    assert no.feedback and no.feedback["ref"] == answer_ref(0) and no.helpful is None and no.decision is None
    assert yes.feedback and yes.feedback["helpful"] is True and not yes.dont_know


def test_the_verdict_reaches_an_answer_when_the_press_falls_after_the_period() -> None:
    conversation = SeedConversation(
        "rest:b",
        "rest",
        [
            turn(0, "what is ris3", outcome="answered", fact="about_what"),
            press(24 * 60 + 5, 0, helpful=False),
        ],
    )
    end = (AT + timedelta(hours=1)).timestamp()
    (answer,) = read(conversation, start=AT.timestamp() - 60, end=end)
    assert answer.helpful is False


def test_hedged_is_not_answered_and_a_form_answer_is_no_question() -> None:
    conversation = SeedConversation(
        "telegram:c",
        "telegram",
        [
            turn(0, "funding?", outcome="answered", fact="project_overview", hedged=True),
            turn(1, "can I talk to someone", intent="ask_human", handoff="started"),
            # The name typed into the form, which the bot also ran through the knowledge (the form asked on).
            turn(2, "Päivi Virtanen", outcome="dont_know", in_form=True),
            turn(3, "yes", intent="affirm", handoff="submitted"),
            turn(4, "what is the weather", outcome="dont_know"),
        ],
    )
    hedged, human, name, submitted, weather = read(conversation)
    assert hedged.hedged and not hedged.answered and hedged.fact == "project_overview"
    assert name.form_answer and not name.dont_know and submitted.form_answer
    assert weather.dont_know and not weather.form_answer and not human.form_answer
    totals = insights([hedged, human, name, submitted, weather], DAY, DAY, utc(2026, 1, 1).tzinfo)["totals"]
    assert totals["questions"] == 2 and totals["answered"] == 0 and totals["hedged"] == 1
    assert totals["dont_know"] == 1 and totals["clarifications"] == 0
    reasons = {q.text: dict(q.reasons) for q in collect_questions([hedged, human, name, weather], no_threshold)}
    assert "Päivi Virtanen" not in reasons  # personal details never reach the queue
    assert reasons["funding?"][HEDGED] == 1 and reasons["what is the weather"] == {DECLINED: 1}


def test_insights_counts_helpfulness_per_fact_language_and_channel() -> None:
    conversations = [
        SeedConversation(
            "web:d",
            "web",
            [
                turn(0, "priorities?", outcome="answered", fact="priorities_all"),
                press(1, 0, helpful=False),
                turn(2, "timeline?", outcome="answered", fact="timeline_overview"),
                press(3, 2, helpful=True),
            ],
        ),
        SeedConversation(
            "telegram:e",
            "telegram",
            [
                turn(0, "painopisteet?", language="fi", outcome="answered", fact="priorities_all"),
                press(1, 0, helpful=True, language="fi"),
            ],
        ),
        SeedConversation(
            "web:f",
            "web",
            [
                turn(0, "the priorities please", outcome="answered", fact="priorities_all"),
                press(1, 0, helpful=False),
                turn(2, "and the timeline", outcome="answered", fact="timeline_overview"),  # not judged
            ],
        ),
    ]
    data = insights(read(*conversations), DAY, DAY, utc(2026, 1, 1).tzinfo)
    assert (data["totals"]["helpful"], data["totals"]["not_helpful"], data["totals"]["helpful_share"]) == (2, 2, 0.5)
    rows = {(r["fact"], r["language"], r["channel"]): r for r in data["helpfulness"]}
    web = rows[("priorities_all", "en", "web")]
    assert (web["answers"], web["helpful"], web["not_helpful"], web["helpful_share"]) == (2, 0, 2, 0.0)
    assert (
        rows[("priorities_all", "fi", "telegram")]["helpful"],
        rows[("priorities_all", "fi", "telegram")]["answers"],
    ) == (1, 1)
    timeline = rows[("timeline_overview", "en", "web")]
    assert (timeline["answers"], timeline["helpful"], timeline["not_helpful"], timeline["helpful_share"]) == (
        2,
        1,
        0,
        1.0,
    )
    assert data["helpfulness"][0]["fact"] == "priorities_all"  # the most "no" first
    assert data["by_channel"]["telegram"]["helpful"] == 1 and data["by_language"]["en"]["not_helpful"] == 2
    table = csv_table(data, "helpfulness").splitlines()
    assert table[0] == "fact,topic,title,language,channel,answers,helpful,not_helpful,helpful_share"
    assert "priorities_all,,,en,web,2,0,2,0.0" in table
    # The presses are user messages, not questions.
    assert data["totals"]["questions"] == 5 and data["totals"]["user_messages"] == 9


def test_a_no_puts_a_plainly_answered_question_in_review() -> None:
    conversation = SeedConversation(
        "web:g",
        "web",
        [
            turn(0, "Who funded the update?", outcome="answered", fact="project_overview"),
            press(1, 0, helpful=False),
            turn(2, "What is RIS3?", outcome="answered", fact="about_what"),
            press(3, 2, helpful=True),
        ],
    )
    questions = collect_questions(read(conversation), no_threshold)
    assert [(q.text, dict(q.reasons)) for q in questions] == [("Who funded the update?", {NOT_HELPFUL: 1})]
