"""PostgreSQL backup and restore as docs/operations.md gives them, against the real Rasa server and action
server on PostgreSQL (tracker store and handoff database): pg_dump while the bot runs, the databases
dropped, pg_restore into new ones, and the conversation and its ticket are back."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import sql
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from bot.handoff.store import HandoffStore
from bot.runtime import BotProcesses
from tests.ops.ops_stack import RestChat, deployment_env, hand_off, http
from tests.postgres import POSTGRES_URL, scratch_database, url_of

pytestmark = pytest.mark.skipif(
    not (shutil.which("pg_dump") and shutil.which("pg_restore")), reason="pg_dump and pg_restore not installed"
)


def _endpoints(path: Path, tracker_db: str, action_port: int) -> Path:
    pg = make_url(POSTGRES_URL)
    password = f'\n  password: "{pg.password}"' if pg.password else ""
    path.write_text(
        f"""action_endpoint:
  url: "http://127.0.0.1:{action_port}/webhook"
  headers:
    Authorization: Bearer ${{RIS3_ACTION_TOKEN}}
tracker_store:
  type: bot.tracker_store.LeanSQLTrackerStore
  dialect: "postgresql"
  url: "{pg.host or "127.0.0.1"}"
  port: {pg.port or 5432}
  db: "{tracker_db}"
  username: "{pg.username or "postgres"}"{password}
"""
    )
    return path


def _libpq_args(database: str) -> list[str]:
    pg = make_url(POSTGRES_URL)
    return ["-h", pg.host or "127.0.0.1", "-p", str(pg.port or 5432), "-U", pg.username or "postgres", "-d", database]


@pytest.fixture()
def databases() -> Iterator[tuple[object, str, str]]:
    with scratch_database("ris3_ops_tracker") as (admin, tracker), scratch_database("ris3_ops_handoff") as (_, handoff):
        yield admin, tracker, handoff


def test_pg_dump_drop_and_pg_restore_bring_back_the_conversation_and_its_ticket(
    databases: tuple[object, str, str], tmp_path: Path
) -> None:
    admin, tracker, handoff = databases
    bot = BotProcesses(env=deployment_env(RIS3_HANDOFF_DATABASE_URL=url_of(handoff)))
    bot.endpoints = _endpoints(tmp_path / "endpoints.yml", tracker, bot.action_port)
    bot.start()
    try:
        chat = RestChat(bot)
        question = "Does the strategy fund hydrogen pilots in Kotka?"
        reference = hand_off(chat, "Postgres Tester", "postgres.tester@example.fi", question)

        # The backup, taken while the servers run: one consistent snapshot per database.
        for database in (tracker, handoff):
            subprocess.run(
                ["pg_dump", "--format=custom", f"--file={tmp_path / database}.dump", *_libpq_args(database)],
                check=True, capture_output=True, timeout=120,
            )

        # The databases are lost.
        bot.stop()
        for database in (tracker, handoff):
            admin.execute(  # type: ignore[attr-defined]
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database))
            )
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))  # type: ignore[attr-defined]
        engine = create_engine(url_of(handoff))
        try:
            assert inspect(engine).get_table_names() == []  # nothing left: not even the tables
        finally:
            engine.dispose()

        for database in (tracker, handoff):
            subprocess.run(
                ["pg_restore", "--no-owner", "--exit-on-error", *_libpq_args(database), f"{tmp_path / database}.dump"],
                check=True, capture_output=True, timeout=120,
            )
        bot.start()

        store = HandoffStore(url_of(handoff))
        try:
            ticket = store.get(reference)
            assert ticket is not None and ticket.name == "Postgres Tester" and ticket.question == question
        finally:
            store.close()
        status, body = http(bot.api_url(f"/conversations/rest:{chat.sender}/tracker"))
        assert status == 200 and "postgres.tester@example.fi" in body
        assert reference in chat.say("what happened to my request?")
    finally:
        bot.stop()
