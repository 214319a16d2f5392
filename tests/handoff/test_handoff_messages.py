"""What the manager reads, and the transcript as taken from Rasa's events."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from bot.handoff.draft import normalise_transcript, transcript_from_events
from bot.handoff.messages import payload_bytes, render_text
from bot.handoff.models import Ticket
from bot.handoff.redaction import redact


def _ticket(**overrides: object) -> Ticket:
    values: dict[str, object] = {
        "reference": "RIS3-7K2Q",
        "name": "Maija",
        "contact": "+358447478512",
        "contact_kind": "phone",
        "question": "Milloin strategia päättyy?",
        "transcript": json.dumps([{"sender": "user", "text": "hei", "time": "2026-01-01T10:00:00+00:00"}]),
        "channel": "telegram",
        "language": "fi",
        "status": "new",
        "created_at": datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc),
    }
    values.update(overrides)
    return Ticket(**values)


def test_text_names_everything_the_manager_needs() -> None:
    text = render_text(_ticket())
    assert "Reference: RIS3-7K2Q" in text and "Contact (phone): +358447478512" in text
    assert "Received: 01.01.2026 12:00 EET" in text  # Finnish time
    assert "[12:00] user: hei" in text


def test_shortening_keeps_the_question_and_erased_data_is_said() -> None:
    long = json.dumps([{"sender": "bot", "text": "x" * 500, "time": ""}] * 20)
    text = render_text(_ticket(transcript=long), max_chars=1000)
    assert len(text) <= 1000 and "Milloin strategia päättyy?" in text and "shortened" in text
    erased = render_text(_ticket(name=None, contact=None, question=None, transcript=None))
    assert "Name: (erased)" in erased and "Conversation:\n(none)" in erased


def test_payload_is_compact_sorted_utf8_json() -> None:
    body = payload_bytes(_ticket())
    assert body.startswith(b'{"channel":"telegram","contact":"+358447478512"')
    assert "päättyy".encode() in body
    assert json.loads(body)["transcript"] == [{"sender": "user", "text": "hei", "time": "2026-01-01T10:00:00+00:00"}]


def test_transcript_from_rasa_events() -> None:
    events: list[dict[str, Any]] = [
        {"event": "action", "name": "action_listen", "timestamp": 1767261599.0},
        {"event": "user", "text": "I want a person", "timestamp": 1767261600.0, "parse_data": {}},
        {"event": "bot", "text": "What is your name?", "timestamp": 1767261601.0},
        {"event": "bot", "text": None, "timestamp": 1767261602.0},  # a custom payload without text
        {"event": "slot", "name": "name", "value": "Maija"},
    ]
    assert transcript_from_events(events) == [
        {"sender": "user", "text": "I want a person", "time": "2026-01-01T10:00:00+00:00"},
        {"sender": "bot", "text": "What is your name?", "time": "2026-01-01T10:00:01+00:00"},
    ]


def test_transcript_shows_the_buttons_the_user_pressed_by_their_titles() -> None:
    """Issue 25 item 2: "Yes"/"Kyllä" where the user pressed it, not "/affirm"; typed text as typed."""
    yes_no = [{"title": "Kyllä", "payload": "/affirm"}, {"title": "Ei", "payload": "/deny"}]
    fact = [{"title": "Painopisteet", "payload": '/answer_fact{"fact_id":"priorities_all"}'}]
    events: list[dict[str, Any]] = [
        {"event": "bot", "text": "Valitse aihe:", "timestamp": 1.0, "data": {"buttons": fact}},
        {"event": "user", "text": '/answer_fact{"fact_id":"priorities_all"}', "timestamp": 2.0},
        {"event": "bot", "text": "Saanko tallentaa…?", "timestamp": 3.0, "data": {"buttons": yes_no}},
        {"event": "user", "text": "/affirm", "timestamp": 4.0},
        {"event": "user", "text": "\u2060/restart", "timestamp": 5.0},  # typed, marked as words by the channel
        {"event": "user", "text": "/deny", "timestamp": 6.0},
        {"event": "user", "text": "/help", "timestamp": 7.0},  # no button of ours had it: kept as it came
    ]
    said = [e["text"] for e in transcript_from_events(events) if e["sender"] == "user"]
    assert said == ["Painopisteet", "Kyllä", "/restart", "Ei", "/help"]


def test_transcript_times_become_utc_iso() -> None:
    entries: list[dict[str, Any]] = [
        {"sender": "user", "text": "a", "time": "2026-01-01T12:00:00+02:00"},
        {"sender": "user", "text": "b", "time": "2026-01-01T10:00:00Z"},
        {"sender": "bot", "text": "c", "time": datetime(2026, 1, 1, 10, 0)},  # naive: taken as UTC
        {"sender": "bot", "text": "d", "time": "yesterday"},
    ]
    assert [e["time"] for e in normalise_transcript(entries)] == ["2026-01-01T10:00:00+00:00"] * 3 + ["yesterday"]


def test_redaction_masks_contacts_and_tokens() -> None:
    masked = redact(
        "550 <maija@yritys.fi> refused; call 044 747 8512; POST /bot123:AbC-_x/sendMessage; name Maija", ["Maija"]
    )
    assert masked == "550 <[redacted]> refused; call [redacted]; POST /bot[redacted]/sendMessage; name [redacted]"
    assert len(redact("x" * 2000)) == 500
