"""Parses messages with the trained Rasa NLU (models/ris3.tar.gz), for benches that need the intent the bot
would really see. Runs under the Rasa environment (Python 3.10):

    .venv-rasa/bin/python bench/nlu_parse.py parses.json [model.tar.gz] < messages.json

Reads a JSON list of messages, writes a JSON object to the file named (Rasa logs to stdout): message ->
{"intent", "confidence", "ranking"}.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def parse_all(model: Path, messages: list[str]) -> dict[str, Any]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    parsed: dict[str, Any] = {}
    for text in messages:
        result = await agent.parse_message(text)
        intent = result.get("intent") or {}
        parsed[text] = {
            "intent": intent.get("name"),
            "confidence": float(intent.get("confidence") or 0.0),
            "ranking": [[i["name"], round(float(i["confidence"]), 4)] for i in result.get("intent_ranking") or []][:5],
        }
    return parsed


def main() -> int:
    logging.disable(logging.WARNING)
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    model = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "models" / "ris3.tar.gz"
    messages = json.load(sys.stdin)
    if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
        print("expected a JSON list of strings on stdin", file=sys.stderr)
        return 2
    out.write_text(json.dumps(asyncio.run(parse_all(model, messages)), ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
