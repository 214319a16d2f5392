"""Over REST, against the real servers with the clock fixed after the strategy period (RIS3_TODAY): a
question about now gets the fact and the news that the period has ended, with the page's date."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.runtime import BotProcesses
from tests.conftest import post_message


@pytest.fixture(scope="module")
def late_bot() -> Iterator[BotProcesses]:
    with BotProcesses(env={"RIS3_TODAY": "2026-12-07"}) as bot:
        bot.start()
        yield bot


def texts(bot: BotProcesses, sender: str, message: str) -> str:
    return "\n".join(r.get("text") or "" for r in post_message(bot.url, sender, message, timeout=120))


@pytest.mark.parametrize(
    ("sender", "message", "ended", "updated"),
    [
        ("now-en", "Is the strategy still valid?", "ended on 31.12.2025", "12.01.2021"),
        ("now-fi", "Onko strategia vielä voimassa?", "päättyi 31.12.2025", "12.01.2021"),
        ("current-en", "What are the current priorities?", "ended on 31.12.2025", "12.01.2021"),
        ("current-fi", "Mitkä ovat nykyiset painopisteet?", "päättyi 31.12.2025", "12.01.2021"),
    ],
)
def test_questions_about_now_say_the_period_has_ended(
    late_bot: BotProcesses, sender: str, message: str, ended: str, updated: str
) -> None:
    reply = texts(late_bot, sender, message)
    assert ended in reply and updated in reply, reply
    assert "2021" in reply.split(ended)[0], "the fact itself comes first"


def test_a_new_strategy_is_not_invented(late_bot: BotProcesses) -> None:
    reply = texts(late_bot, "new-en", "Is there a new strategy for 2026?")
    assert "ended on 31.12.2025" in reply and "12.01.2021" in reply, reply
    assert "2026" not in reply.replace("2026?", "")


def test_an_ordinary_question_is_answered_as_before(late_bot: BotProcesses) -> None:
    reply = texts(late_bot, "plain-en", "Who is the project manager?")
    assert "ended on" not in reply and "Petri Tolmunen" in reply, reply
