"""A bot run as docs/operations.md says (REST and metrics behind their tokens), against the real Rasa server
and action server: metrics scraped, the FAQ suite and `bot ask` with the REST token, the SQLite databases
backed up, wiped and restored, and the action token and chat secret rotated while the bot runs."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.handoff.store import HandoffStore
from bot.runtime import BotProcesses, child_environment
from bot.settings import PROJECT_ROOT
from tests.e2e.test_web_chat import ChatSocket
from tests.ops.ops_stack import RestChat, hand_off, http


@pytest.fixture()
def bot(deployed_bot: BotProcesses) -> BotProcesses:
    return deployed_bot


def _metrics(url: str, token: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = http(f"{url}/metrics", token)
    assert status == 200, body
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def test_both_servers_are_scraped_behind_the_metrics_token(bot: BotProcesses) -> None:
    token = bot.env["RIS3_METRICS_TOKEN"]
    actions_url = f"http://127.0.0.1:{bot.action_port}"
    for url in (bot.url, actions_url):
        assert http(f"{url}/metrics")[0] == 401
        assert http(f"{url}/metrics", bot.env["RIS3_REST_TOKEN"])[0] == 401
    rest = ("ris3_messages_total", (("channel", "rest"),))
    answers = ("ris3_decisions_total", (("language", "en"), ("outcome", "answer")))
    declines = ("ris3_decisions_total", (("language", "en"), ("outcome", "decline")))
    rasa_before, actions_before = _metrics(bot.url, token), _metrics(actions_url, token)

    chat = RestChat(bot)
    assert "Source:" in chat.say("What are the priorities of the strategy?")
    chat.say("How many jobs has the strategy created so far?")  # the bot does not know

    rasa_after, actions_after = _metrics(bot.url, token), _metrics(actions_url, token)
    assert rasa_after[rest] == rasa_before.get(rest, 0) + 2
    latency = ("ris3_message_seconds_count", (("channel", "rest"),))
    assert rasa_after[latency] == rasa_before.get(latency, 0) + 2
    assert actions_after[answers] == actions_before.get(answers, 0) + 1
    assert actions_after[declines] == actions_before.get(declines, 0) + 1
    assert ("ris3_index_rebuilds_total", ()) in actions_after


def _bot_command(*args: str, token: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in child_environment().items() if key != "RIS3_REST_TOKEN"}
    if token:
        env["RIS3_REST_TOKEN"] = token
    return subprocess.run(
        [str(PROJECT_ROOT / "bin" / "bot"), *args], env=env, capture_output=True, text=True, timeout=300,
        cwd=PROJECT_ROOT,
    )


def test_ask_and_the_faq_suite_send_the_rest_token(bot: BotProcesses, tmp_path: Path) -> None:
    token = bot.env["RIS3_REST_TOKEN"]
    refused = _bot_command("ask", "--url", bot.url, "Who is the project manager?", token=None)
    assert refused.returncode == 2 and "RIS3_REST_TOKEN" in refused.stderr
    asked = _bot_command("ask", "--url", bot.url, "Who is the project manager?", token=token)
    assert asked.returncode == 0 and "Tolmunen" in asked.stdout, asked.stderr

    # One case file of the suite, single questions and a conversation, against the deployment.
    cases = tmp_path / "cases"
    cases.mkdir()
    shutil.copy(PROJECT_ROOT / "tests" / "faq" / "cases" / "conversations_en.yml", cases)
    out = tmp_path / "report"
    refused = _bot_command("faq", "test", "--url", bot.url, "--cases", str(cases), "--out", str(out), token=None)
    assert refused.returncode == 2 and "401" in refused.stderr
    run = _bot_command("faq", "test", "--url", bot.url, "--cases", str(cases), "--out", str(out), token=token)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert (out / "report.html").is_file() and " 0 failed, 0 errors" in run.stdout


def _sqlite_backup(database: Path, copy: Path) -> None:
    """SQLite's online backup, as docs/operations.md gives it: consistent while the servers write."""
    source, target = sqlite3.connect(database), sqlite3.connect(copy)
    with target:
        source.backup(target)
    source.close()
    target.close()


def test_sqlite_backup_wipe_and_restore_bring_back_the_conversation_and_its_ticket(
    bot: BotProcesses, tmp_path: Path
) -> None:
    chat = RestChat(bot)
    question = "Does the strategy fund hydrogen pilots in Kotka?"
    reference = hand_off(chat, "Backup Tester", "backup.tester@example.fi", question)
    databases = {"tracker": bot.workdir / "tracker.db", "handoff": bot.workdir / "handoff.db"}
    for name, database in databases.items():
        _sqlite_backup(database, tmp_path / f"{name}.db")

    # The disk is lost: the servers stop, the databases and their write-ahead logs are gone.
    bot.stop()
    for database in databases.values():
        for path in database.parent.glob(database.name + "*"):
            path.unlink()
    for name, database in databases.items():
        shutil.copy(tmp_path / f"{name}.db", database)
    bot.start()

    store = HandoffStore(bot.handoff_database_url)
    try:
        ticket = store.get(reference)
        assert ticket is not None and ticket.name == "Backup Tester" and ticket.question == question
    finally:
        store.close()
    status, tracker = http(bot.api_url(f"/conversations/rest:{chat.sender}/tracker"))
    assert status == 200 and "backup.tester@example.fi" in tracker
    # The conversation goes on where it was: the bot knows the request it made.
    assert reference in chat.say("what happened to my request?")


async def _chat_turn(url: str, session_id: str | None, text: str) -> tuple[str, str]:
    page = await ChatSocket(url).connect()
    try:
        session = await page.session(session_id)
        return session, await page.say(text, session)
    finally:
        await page.close()


def test_action_token_and_chat_secret_rotate_while_the_bot_runs(bot: BotProcesses) -> None:
    old_token, new_token = bot.action_token, os.urandom(24).hex()
    old_secret, new_secret = bot.chat_secret, os.urandom(24).hex()
    session, reply = asyncio.run(_chat_turn(bot.url, None, "What are the priorities of the strategy?"))
    assert "Source:" in reply
    rest = RestChat(bot)
    actions_args = [str(a) for a in bot.processes["actions"].args]  # type: ignore[union-attr]
    rasa_args = [str(a) for a in bot.processes["rasa"].args]  # type: ignore[union-attr]
    webhook = f"http://127.0.0.1:{bot.action_port}/webhook"

    # 1. The action server takes the new token and, for now, the old one, which the Rasa server still sends.
    bot.env.update(RIS3_ACTION_TOKEN=new_token, RIS3_ACTION_TOKEN_PREVIOUS=old_token)
    bot.stop_one("actions")
    bot.restart("actions", actions_args)
    assert "Source:" in rest.say("Who is the project manager?")

    # 2. The Rasa server moves to the new token and the new chat secret, keeping the old secret for the
    #    session ids it signed: an open page reconnects (the widget does by itself) into its conversation.
    bot.env.update(RIS3_CHAT_SECRET=new_secret, RIS3_CHAT_SECRET_PREVIOUS=old_secret)
    bot.stop_one("rasa")
    bot.restart("rasa", rasa_args)
    kept, reply = asyncio.run(_chat_turn(bot.url, session, "What is the timeline of the strategy?"))
    assert kept == session and "Source:" in reply
    assert "Source:" in rest.say("What are the priorities of the strategy?")

    # 3. The old action token is retired: refused from now on, while the bot goes on answering.
    del bot.env["RIS3_ACTION_TOKEN_PREVIOUS"]
    bot.stop_one("actions")
    bot.restart("actions", actions_args)
    assert http(webhook, old_token, {"next_action": "action_answer"})[0] == 401
    assert http(webhook, new_token, {"next_action": "action_listen"})[0] != 401
    assert "Source:" in rest.say("Who is the project manager?")

    # 4. Once the old secret is dropped too, a page that kept an id signed with it starts a new conversation
    #    (what users notice when a chat secret is replaced without the overlap).
    del bot.env["RIS3_CHAT_SECRET_PREVIOUS"]
    bot.stop_one("rasa")
    bot.restart("rasa", rasa_args)
    fresh, reply = asyncio.run(_chat_turn(bot.url, session, "What are the priorities of the strategy?"))
    assert fresh != session and "Source:" in reply


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-x", "-q"]))
