"""`bot faq gaps` on a PostgreSQL tracker store, as a deployment has it: the same rows as the SQLite test,
copied into a database of the test's own, read through RIS3_TRACKER_DATABASE_URL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.faq.test_faq_gaps import CONVERSATIONS, _tracker
from tests.postgres import libpq, scratch_database, url_of


@pytest.fixture()
def postgres_tracker(tmp_path: Path) -> Iterator[str]:
    rows = sqlite3.connect(_tracker(tmp_path / "tracker.db", CONVERSATIONS)).execute(
        "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id"
    ).fetchall()
    with scratch_database("ris3_gaps") as (_, name):
        url = url_of(name)
        with psycopg.connect(libpq(url), autocommit=True) as connection:
            connection.execute(
                "CREATE TABLE events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
                "type_name VARCHAR(255) NOT NULL, timestamp DOUBLE PRECISION, intent_name VARCHAR(255), "
                "action_name VARCHAR(255), data TEXT)"
            )
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
                    "VALUES (%s, %s, %s, %s, %s, %s)", rows,
                )
        yield url


def test_gaps_read_the_deployments_tracker_store(
    postgres_tracker: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv("RIS3_TRACKER_DATABASE_URL", postgres_tracker)
    assert main(["faq", "gaps", "--days", "30"]) == 0
    out = capsys.readouterr().out
    assert "5 unanswered or handed-off questions" in out and "1 handoff" in out


def test_an_unreachable_store_is_said_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv("RIS3_TRACKER_DATABASE_URL", "postgresql+psycopg://ris3:s3cret-pass@127.0.0.1:1/nowhere")
    assert main(["faq", "gaps"]) == 2
    err = capsys.readouterr().err
    assert "cannot read the tracker database" in err and "s3cret-pass" not in err
