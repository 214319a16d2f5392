"""The action server embeds questions with onnxruntime: none of its processes loads torch, which used to be
half of its memory and most of its start-up (bot/knowledge/onnx_export.py, docs/profile.md)."""

from __future__ import annotations

from pathlib import Path

from bench.proc_stats import tree
from bot.runtime import BotProcesses
from tests.conftest import post_message


def _libraries(pid: int) -> set[str]:
    try:
        lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    except OSError:
        return set()
    return {Path(line.split()[-1]).name for line in lines if line.count(" ") >= 5 and "/" in line}


def test_the_action_server_answers_without_torch(bot_stack: BotProcesses) -> None:
    reply = " ".join(m.get("text") or "" for m in post_message(bot_stack.url, "footprint", "What are the priorities?"))
    assert "logistics" in reply.lower()  # a knowledge answer, so the embedding model is loaded
    members = tree(bot_stack.processes["actions"].pid)  # the server and its Sanic workers
    assert len(members) >= 2, "the server and its worker"
    loaded = set().union(*(_libraries(pid) for pid in members))
    assert any(name.startswith("libonnxruntime") or "onnxruntime_pybind" in name for name in loaded)
    assert not [name for name in loaded if name.startswith(("libtorch", "libc10"))]
