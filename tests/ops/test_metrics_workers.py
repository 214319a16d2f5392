"""Metrics of a server with several Sanic workers (PROMETHEUS_MULTIPROC_DIR, as deploy/docker-compose.yml sets
it): every scrape, whichever worker answers it, counts the decisions of all workers. The real action server
with two workers, called as Rasa calls it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.runtime import BotProcesses
from tests.ops.ops_stack import deployment_env, http


@pytest.fixture()
def two_workers(tmp_path: Path) -> Iterator[BotProcesses]:
    folder = tmp_path / "metrics"
    folder.mkdir()
    bot = BotProcesses(
        parts=("actions",),
        env=deployment_env(ACTION_SERVER_SANIC_WORKERS="2", PROMETHEUS_MULTIPROC_DIR=str(folder)),
    ).start()
    try:
        yield bot
    finally:
        bot.stop()


def _answer_call(text: str) -> dict:
    message = {"text": text, "intent": {"name": "ask_fact", "confidence": 0.9}, "entities": []}
    tracker = {"sender_id": "rest:metrics", "slots": {"language": "en"}, "events": [], "latest_message": message,
               "active_loop": {}, "latest_input_channel": "rest"}
    return {"next_action": "action_answer", "sender_id": "rest:metrics", "tracker": tracker, "domain": {},
            "version": "3.6.21"}


def _decisions(bot: BotProcesses) -> float:
    status, body = http(f"http://127.0.0.1:{bot.action_port}/metrics", bot.env["RIS3_METRICS_TOKEN"])
    assert status == 200, body
    return sum(
        sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == "ris3_decisions_total"
    )


def test_every_scrape_counts_the_decisions_of_both_workers(two_workers: BotProcesses) -> None:
    webhook = f"http://127.0.0.1:{two_workers.action_port}/webhook"
    calls = 12
    for _ in range(calls):
        status, body = http(webhook, two_workers.action_token, _answer_call("What are the priorities?"))
        assert status == 200, body
        assert json.loads(body)["responses"], body
    # Connections are not kept, so the calls and the scrapes spread over the workers; each scrape sees all.
    assert {_decisions(two_workers) for _ in range(6)} == {float(calls)}
