"""The conversation's language, set in the Rasa server itself: an NLU component that adds a `language`
entity to a message that switches the language, which the `language` slot's `from_entity` mapping
(domain.yml) takes. Rasa's slot extraction then needs no call to the action server: each user message costs
one action-server round trip (the action that answers) instead of two.

The component sees the conversation (Rasa passes the tracker to a component whose `process` asks for it), so
it decides as the conversation requires (bot.nlu.language_switch): it knows the current language and
whether the message answers a form's question. It adds the entity only when the language changes: an
unchanged language sets no slot, which keeps the tracker, and every later request's payload, shorter.
A parse without a conversation (`/model/parse`, `rasa test`) has no language slot to change and gets no
entity.

Runs in the Rasa runtime (Python 3.10, rasa 3.6); only bot.language is imported from the project.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.language_switch import switched_language

LANGUAGE = "language"  # the entity and the slot (domain.yml)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageSwitch(GraphComponent, EntityExtractorMixin):
    """Adds the entity `language` (en, fi) to a message that switches the conversation's language."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Answers to these forms' questions never switch the language; an explicit request still does.
            "forms_keeping_language": ["handoff_form"],
        }

    def __init__(self, config: dict[str, Any]) -> None:
        self._forms = frozenset(config.get("forms_keeping_language") or ())

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageSwitch:
        return cls(config)

    def _answering_form(self, tracker: DialogueStateTracker) -> bool:
        return tracker.active_loop_name in self._forms and tracker.get_slot(REQUESTED_SLOT) is not None

    def process(self, messages: list[Message], tracker: DialogueStateTracker) -> list[Message]:
        # A bare parse gets a tracker without the domain's slots (its slot dict makes up any slot asked for,
        # hence .get): there is no conversation whose language could switch.
        slot = tracker.slots.get(LANGUAGE)
        if slot is None:
            return messages
        current = slot.value
        answering_form = self._answering_form(tracker)
        for message in messages:
            text = message.get(TEXT)
            language = switched_language(text, current, answering_form)
            if language is None:
                continue
            entity = {"entity": LANGUAGE, "value": language, "start": 0, "end": len(text)}
            message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name([entity]), add_to_output=True)
        return messages
