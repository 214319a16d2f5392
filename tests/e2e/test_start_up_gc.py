"""Both servers keep what they loaded at start-up out of Python's garbage collections (bot/gc_freeze.py): the
Rasa server starts with the collector off and turns it on once its model is loaded, the action server once
its knowledge is; each says so in its log with the number of objects frozen."""

from __future__ import annotations

import re
import time

from bot.runtime import BotProcesses
from tests.conftest import post_message

FROZEN = re.compile(r"(Rasa server|action server): garbage collection on, (\d+) objects loaded at start-up")


def _frozen(bot: BotProcesses, name: str) -> list[tuple[str, int]]:
    return [(m[1], int(m[2])) for m in FROZEN.finditer(bot.log(name).read_text(errors="replace"))]


def test_loaded_objects_are_frozen_and_collection_is_back_on(bot_stack: BotProcesses) -> None:
    assert post_message(bot_stack.url, "gc-check", "hello")  # both servers have answered
    deadline = time.monotonic() + 30
    while not _frozen(bot_stack, "actions") and time.monotonic() < deadline:
        time.sleep(0.5)
    rasa, actions = _frozen(bot_stack, "rasa"), _frozen(bot_stack, "actions")
    assert len(rasa) == 1 and rasa[0][0] == "Rasa server", rasa
    assert rasa[0][1] > 200_000  # Rasa's modules, TensorFlow's and the model: far more than this
    assert actions and all(who == "action server" and count > 20_000 for who, count in actions), actions
