"""`bot faq gaps` on a small tracker database shaped like Rasa's SQLTrackerStore (table events)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from bot.faq.gaps import find_gaps, group_gaps, similar

DONT_KNOW_EN = "I'm sorry, I don't know that: the strategy text I answer from does not cover it."
DONT_KNOW_OFFER_EN = "I'm sorry, I don't know this either: the strategy text does not cover it."
DONT_KNOW_FI = "Valitettavasti en tiedä sitä: strategiateksti, jonka pohjalta vastaan, ei kerro siitä."


def _tracker(path: Path, conversations: dict[str, list[tuple[str, str]]], age_days: float = 1) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
        "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
        "action_name VARCHAR(255), data TEXT)"
    )
    t = time.time() - age_days * 86400
    for sender, events in conversations.items():
        for kind, value in events:
            t += 1
            if kind == "user":
                data = {"event": "user", "timestamp": t, "text": value,
                        "parse_data": {"intent": {"name": "ask_fact", "confidence": 0.4}, "text": value}}
                row = (sender, "user", t, "ask_fact", None, json.dumps(data))
            elif kind == "bot":
                row = (sender, "bot", t, None, None, json.dumps({"event": "bot", "timestamp": t, "text": value}))
            else:
                row = (sender, "action", t, None, value, json.dumps({"event": "action", "timestamp": t, "name": value}))
            conn.execute(
                "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
                "VALUES (?, ?, ?, ?, ?, ?)", row,
            )
    conn.commit()
    conn.close()
    return path


CONVERSATIONS = {
    "a": [("user", "how big is the budget of the strategy?"), ("action", "action_answer"), ("bot", DONT_KNOW_EN),
          ("action", "action_listen"), ("user", "who is the project manager?"),
          ("bot", "More information is available from the project manager Petri Tolmunen.")],
    "b": [("user", "what is the budget of the strategy"), ("bot", DONT_KNOW_OFFER_EN)],
    "c": [("user", "budget of the strategy?"), ("bot", DONT_KNOW_EN)],
    "d": [("user", "mikä on strategian budjetti?"), ("bot", DONT_KNOW_FI)],
    "e": [("user", "I want to talk to a human"), ("action", "action_human"), ("bot", "What is your name?")],
    "f": [("user", "hello"), ("bot", "Hello! I answer questions about the strategy.")],
    "g": [("user", "/answer_fact"), ("bot", DONT_KNOW_EN)],  # a button press, not a question
}


def test_gaps_are_found_and_grouped(tmp_path: Path) -> None:
    db = _tracker(tmp_path / "tracker.db", CONVERSATIONS)
    gaps = find_gaps(db, days=30)
    assert sorted(g.text for g in gaps) == sorted([
        "how big is the budget of the strategy?", "what is the budget of the strategy",
        "budget of the strategy?", "mikä on strategian budjetti?", "I want to talk to a human",
    ])
    assert {g.reason for g in gaps if g.sender == "e"} == {"handoff"}
    groups = group_gaps(gaps)
    assert [g.count for g in groups] == [3, 1, 1]
    assert {g.text for g in groups[0].questions} == {
        "how big is the budget of the strategy?", "what is the budget of the strategy", "budget of the strategy?"}


def test_old_conversations_are_left_out(tmp_path: Path) -> None:
    db = _tracker(tmp_path / "tracker.db", CONVERSATIONS, age_days=60)
    assert find_gaps(db, days=30) == []
    assert len(find_gaps(db, days=90)) == 5


def test_similarity() -> None:
    assert similar("who is the project manager", "who's the project manager?")
    assert not similar("what is the budget", "where is the office in Kotka")


def test_the_cli_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    db = _tracker(tmp_path / "tracker.db", CONVERSATIONS)
    assert main(["faq", "gaps", "--tracker-db", str(db), "--days", "30"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "5 unanswered or handed-off questions" in lines[0]
    assert lines[1].split()[0] == "3" and "budget of the strategy" in lines[1] and "3 dont_know" in lines[1]
    assert "1 handoff" in out
    assert main(["faq", "gaps", "--tracker-db", str(tmp_path / "missing.db")]) == 2
