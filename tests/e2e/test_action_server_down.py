"""When the action server is down the bot cannot answer; the user is told so, with the project manager's
contact, instead of getting nothing (bot/channels/unanswered.py). A bot of its own, as the test stops and
restarts its action server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bot.runtime import BotProcesses
from tests.conftest import post_message
from tests.e2e.test_web_chat import ChatSocket


def text_of(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


@pytest.fixture(scope="module")
def bot() -> Iterator[BotProcesses]:
    """A bot whose action server has been stopped after its first answer (the last test restarts it)."""
    bot = BotProcesses().start()
    try:
        assert "Tolmunen" in text_of(post_message(bot.url, "warm-up", "who is the project manager?"))
        bot.stopped_actions = bot.stop_one("actions", grace=5)  # type: ignore[attr-defined]
        yield bot
    finally:
        bot.stop()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("who is the project manager?", ["technical problem", "Tolmunen", "Source:"]),
        ("mitkä ovat strategian painopisteet?", ["teknisen vian", "Tolmuselta", "Lähde:"]),
        ("RIS3?", ["teknisen vian", "technical problem"]),  # no language to tell: both
    ],
)
def test_rest_says_it_cannot_answer_with_the_contact(
    bot: BotProcesses, question: str, expected: list[str]
) -> None:
    text = text_of(post_message(bot.url, "down-rest", question))
    for part in expected:
        assert part in text


def test_the_website_chat_says_it_cannot_answer(bot: BotProcesses) -> None:
    async def ask() -> str:
        page = await ChatSocket(bot.url).connect()
        try:
            return await page.say("who is the project manager?", await page.session())
        finally:
            await page.close()

    text = asyncio.run(ask())
    assert "technical problem" in text and "Tolmunen" in text


def test_answers_come_back_with_the_action_server(bot: BotProcesses) -> None:
    bot.restart("actions", bot.stopped_actions)  # type: ignore[attr-defined]
    with_actions = text_of(post_message(bot.url, "down-back", "who is the project manager?"))
    assert "Tolmunen" in with_actions and "technical problem" not in with_actions
