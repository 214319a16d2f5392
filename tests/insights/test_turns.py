"""bot/analytics/turns.py: how user turns are read back from the tracker store's events."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from insights_seed import (
    RASA_PYTHON,
    SeedConversation,
    SeedTurn,
    rows_of,
    seeded_conversations,
    utc,
    write_rows,
    write_with_rasa,
)
from sqlalchemy import create_engine, text

from bot.analytics.turns import TurnRecord, channel_of, load_turns, turns_from_rows
from bot.handoff.conversations import TrackerStoreUnavailable

AT = utc(2026, 5, 4, 9, 0)


def read(*conversations: SeedConversation) -> list[TurnRecord]:
    rows = []
    for conversation in conversations:
        rows += [
            (len(rows) + n + 1, r["sender_id"], r["type_name"], r["timestamp"], r["intent_name"], r["action_name"],
             r["data"])
            for n, r in enumerate(rows_of(conversation))
        ]
    rows.sort(key=lambda row: (row[1], row[0]))
    return list(turns_from_rows(rows))


def turn(minutes: float, **values: object) -> SeedTurn:
    fields: dict[str, object] = {"text": "q", "intent": "ask_about", "language": "en", **values}
    return SeedTurn(AT + timedelta(minutes=minutes), **fields)  # type: ignore[arg-type]


def test_each_turn_gets_its_own_decision_and_none_without_one() -> None:
    conversation = SeedConversation("web:abc", "web", [
        turn(0, outcome="answered", fact="about_what"),
        turn(1, text="hello", intent="greet"),
        turn(2, outcome="dont_know"),
        turn(3, outcome="choose"),
    ])
    first, greeting, unknown, choose = read(conversation)
    assert first.answered and first.fact == "about_what" and first.decision and first.decision["score"] == 0.8123
    assert greeting.decision is None and not greeting.answered and not greeting.dont_know
    assert unknown.dont_know and unknown.fact is None
    assert choose.decision and choose.decision["kind"] == "choose" and not choose.dont_know and not choose.answered
    assert first.time == AT and first.channel == "web" and first.conversation_id == "web:abc"
    assert first.event_id < greeting.event_id < unknown.event_id


def test_a_new_session_re_sets_the_last_decision_for_no_turn() -> None:
    """With carry_over_slots_to_new_session, Rasa sets every slot again when a session starts, after the
    previous turn: that copy is not the previous turn's decision."""
    conversation = SeedConversation("rest:s", "rest", [
        turn(0, outcome="answered", fact="about_what"),
        turn(1, text="hello", intent="greet"),
        turn(90, text="hello again", intent="greet", new_session=True),
    ])
    events = [json.loads(row["data"]) for row in rows_of(conversation)]
    carried = [e for e in events if e["event"] == "slot" and e["name"] == "last_decision"]
    assert len(carried) == 2  # the answer's, and the copy at the second session's start
    answered, greeting, again = read(conversation)
    assert answered.answered
    assert greeting.decision is None and again.decision is None


def test_language_detected_kept_and_taken_from_the_decision() -> None:
    conversation = SeedConversation("telegram:42", "telegram", [
        turn(0, language="fi", outcome="answered", fact="about_what"),
        turn(1, language="fi", detected=False, text="ok", intent="greet"),  # says nothing of its language
        turn(2, language="en", outcome="dont_know"),
        turn(3, language="en", detected=False, new_session=True, text="hi", intent="greet"),
    ])
    assert [t.language for t in read(conversation)] == ["fi", "fi", "en", "en"]
    # Never set: the slot's initial value.
    unset = SeedConversation("rest:x", "rest", [turn(0, detected=False, text="/greet", intent="greet")])
    assert read(unset)[0].language == "en"


def test_buttons_and_handoffs() -> None:
    conversation = SeedConversation("telegram:7", "telegram", [
        turn(0, text='/answer_fact{"fact_id":"timeline_overview"}', intent="answer_fact", outcome="answered",
             fact="timeline_overview", button=True),
        turn(1, text="a person please", intent="ask_human", handoff="started"),
        turn(2, text="yes", intent="affirm", handoff="submitted"),
        turn(3, text="a person please", intent="ask_human", handoff="group"),
        turn(4, text="yes", intent="affirm", handoff="cancelled"),
    ])
    button, started, submitted, group, cancelled = read(conversation)
    assert button.button and button.fact == "timeline_overview" and not started.button
    assert started.handoff_started and not started.handoff_submitted
    assert submitted.handoff_submitted and submitted.handoff_reference == "RIS3-7"
    assert not group.handoff_started, "in a group only the link to a private chat is given"
    assert not cancelled.handoff_submitted and cancelled.handoff_reference is None


def test_channel_from_the_id_else_the_input_channel() -> None:
    assert channel_of("web:1") == "web" and channel_of("telegram:-100") == "telegram" and channel_of("rest:a") == "rest"
    assert channel_of("old-id", "socketio") == "web" and channel_of("old-id", "rest") == "rest"
    assert channel_of("warm-up", "cmdline") == "other" and channel_of("email:x") == "other"


def test_a_damaged_event_is_skipped() -> None:
    rows = [
        (1, "rest:a", "user", 1.0, "greet", None, '{"event": "user", "text": "hi"}'),
        (2, "rest:a", "slot", 1.1, None, "last_decision", "{not json"),
        (3, "rest:b", "user", 2.0, None, None, None),
    ]
    first, second = turns_from_rows(rows)
    assert first.text == "hi" and first.decision is None and first.intent == "greet"
    assert second.conversation_id == "rest:b" and second.text == ""


def test_the_period_is_of_whole_days_in_the_zone(tmp_path: Path) -> None:
    helsinki = ZoneInfo("Europe/Helsinki")
    midnight = datetime(2026, 5, 5, tzinfo=helsinki).astimezone(timezone.utc)  # 21:00 UTC the day before
    conversation = SeedConversation("web:p", "web", [
        SeedTurn(midnight - timedelta(seconds=1), "late", "greet", "en"),
        SeedTurn(midnight, "midnight", "greet", "en"),
        SeedTurn(midnight + timedelta(days=1) - timedelta(seconds=1), "last", "greet", "en"),
        SeedTurn(midnight + timedelta(days=1), "next day", "greet", "en"),
    ])
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    write_rows(url, [conversation])
    day = date(2026, 5, 5)
    assert [t.text for t in load_turns(url, day, day, zone=helsinki)] == ["midnight", "last"]
    assert [t.text for t in load_turns(url, day, day)] == ["last", "next day"]  # UTC by default
    assert load_turns(url, day, day - timedelta(days=1)) == []


def test_nothing_to_read(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    assert load_turns(f"sqlite:///{missing}", date(2026, 1, 1), date(2026, 12, 31)) == []
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    create_engine(f"sqlite:///{empty}").connect().close()  # a database without Rasa's table yet
    assert load_turns(f"sqlite:///{empty}", date(2026, 1, 1), date(2026, 12, 31)) == []


def test_an_unreadable_store_is_reported_without_its_url(tmp_path: Path) -> None:
    broken = tmp_path / "broken.db"
    engine = create_engine(f"sqlite:///{broken}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT)"))  # columns missing
    engine.dispose()
    with pytest.raises(TrackerStoreUnavailable, match="RIS3_TRACKER_DATABASE_URL") as raised:
        load_turns(f"sqlite:///{broken}", date(2026, 1, 1), date(2026, 12, 31))
    assert str(broken) not in str(raised.value)


@pytest.mark.skipif(not RASA_PYTHON.is_file(), reason="no .venv-rasa: run `bin/bot setup`")
def test_the_seeded_rows_are_the_rows_rasa_writes(tmp_path: Path) -> None:
    """The tests' direct inserts (write_rows) match Rasa's SQLTrackerStore row for row."""
    conversations = seeded_conversations(seed=5, start=utc(2026, 3, 25), days=3, count=12)
    stored = {}
    for name, writer in (("rasa", write_with_rasa), ("rows", write_rows)):
        url = f"sqlite:///{tmp_path / name}.db"
        writer(url, conversations)
        engine = create_engine(url)
        with engine.connect() as connection:
            query = "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id"
            stored[name] = [
                (*row[:5], json.loads(row[5])) for row in connection.execute(text(query))
            ]
        engine.dispose()
    assert len(stored["rasa"]) > 200
    assert stored["rasa"] == stored["rows"]


def test_the_review_pages_try_box_is_not_counted_as_users() -> None:
    from bot.analytics.insights import insights

    user = SeedConversation("rest:someone", "rest", [turn(0, outcome="answered", fact="about_what")])
    staff = SeedConversation(
        "rest:backoffice-review-try-0a1b2c", "rest", [turn(1, outcome="answered", fact="about_what")]
    )
    figures = insights(read(user, staff), AT.date(), AT.date(), timezone.utc)
    assert figures["totals"]["user_messages"] == 1 and figures["totals"]["conversations"] == 1
