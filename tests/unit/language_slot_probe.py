"""What Rasa makes of the conversation's language after one user message: run with the Rasa runtime
(.venv-rasa, Python 3.10) from the repository root; reads cases as JSON on stdin and prints, per case, the
`language` entities the NLU component gives and the slot's value after Rasa's own slot extraction
(ActionExtractSlots with the real domain.yml and config.yml), plus the remote actions that extraction called.

A case: {"text": ..., "language": "en", "form": "handoff_form" | null, "requested_slot": ... | null}.
Used by tests/unit/test_language_slot.py.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from rasa.core.actions.action import ActionExtractSlots, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.language import LANGUAGE, LanguageSwitch


def component_config() -> dict[str, Any]:
    config = yaml.safe_load(Path("config.yml").read_text(encoding="utf-8"))
    (item,) = [c for c in config["pipeline"] if c["name"].endswith(LanguageSwitch.__name__)]
    return {**LanguageSwitch.get_default_config(), **{k: v for k, v in item.items() if k != "name"}}


async def run_case(case: dict[str, Any], domain: Domain, component: LanguageSwitch) -> dict[str, Any]:
    events: list[Any] = [SlotSet(LANGUAGE, case["language"])]
    if case.get("form"):
        events += [ActiveLoop(case["form"]), SlotSet(REQUESTED_SLOT, case.get("requested_slot"))]
    tracker = DialogueStateTracker.from_events("probe", events, slots=domain.slots)
    message = Message({"text": case["text"]})
    component.process([message], tracker)
    entities = message.get("entities") or []
    tracker.update(UserUttered(case["text"], {"name": case.get("intent", "ask_ris3"), "confidence": 1.0}, entities))
    called: list[str] = []

    async def remote_run(self: RemoteAction, *_: Any) -> list[Any]:
        called.append(self.name())
        return []

    with mock.patch.object(RemoteAction, "run", remote_run):
        extracted = await ActionExtractSlots(None).run(
            CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain
        )
    tracker.update_with_events(extracted, domain)
    return {
        "entities": [e["value"] for e in entities if e["entity"] == LANGUAGE],
        "language": tracker.get_slot(LANGUAGE),
        "remote_calls": called,
    }


async def main() -> None:
    domain = Domain.load("domain.yml")
    component = LanguageSwitch(component_config())
    cases = json.load(sys.stdin)
    print(json.dumps([await run_case(case, domain, component) for case in cases]))


if __name__ == "__main__":
    asyncio.run(main())
