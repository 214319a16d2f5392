"""Privacy questions and erasure requests the classifier was unsure of, recognised from the domain's words.

After the intent classifier and its fallback: when the top intent is the fallback, out_of_scope or below
`threshold`, or an informing intent whose examples share the privacy words' objects (SAME_WORDS_INTENTS, even
when confident), and the message speaks of the user's data in the privacy domain's words
(bot.nlu.privacy_terms), the intent becomes ask_privacy or request_erasure. An unsure request_erasure that names
no erasing becomes ask_privacy: erasing is never offered on a guess. Any other confident classification is left
alone, and so is an answer to a form's question (a question typed into the handoff form stays the user's
question). A privacy message whose language the detector cannot tell ("tietosuoja") sets the conversation's
language from its privacy words.

Runs in the Rasa runtime (Python 3.10, rasa 3.6).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.language import detect
from bot.nlu.language import LANGUAGE
from bot.nlu.privacy_terms import ASK_PRIVACY, REQUEST_ERASURE, privacy_intent, privacy_language

UNSURE_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
# Intents whose examples share the privacy words' objects ("my phone number", "the council"), which the
# classifier then picks with confidence for "does the council store my phone number?". They only inform (no
# form, no change), so the privacy words may overrule them even then.
SAME_WORDS_INTENTS = frozenset({"ask_contact", "ask_publisher", "not_helpful"})


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class PrivacyTerms(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"threshold": 0.7}

    def __init__(self, config: dict[str, Any]) -> None:
        self._threshold = float(config.get("threshold", 0.7))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> PrivacyTerms:
        return cls(config)

    def process(self, messages: list[Message], tracker: DialogueStateTracker) -> list[Message]:
        if tracker.active_loop_name and tracker.get_slot(REQUESTED_SLOT) is not None:
            return messages  # answering a form's question
        language_slot = tracker.slots.get(LANGUAGE)
        for message in messages:
            self._set_language(message, language_slot.value if language_slot is not None else None)
            intent = message.get(INTENT) or {}
            name, confidence = intent.get(INTENT_NAME_KEY), float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
            unsure = name in UNSURE_INTENTS or confidence < self._threshold
            if name == ASK_PRIVACY or not (unsure or name in SAME_WORDS_INTENTS):
                continue
            found = privacy_intent(message.get(TEXT))
            # An unsure request_erasure without a word of erasing is a question about what is kept.
            if found is None or found == name:
                continue
            chosen = {INTENT_NAME_KEY: found, PREDICTED_CONFIDENCE_KEY: 1.0}
            ranking = [chosen] + [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != found]
            message.set(INTENT, chosen, add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            self._set_language(message, language_slot.value if language_slot is not None else None)
        return messages

    def _set_language(self, message: Message, current: str | None) -> None:
        """A privacy message whose language the detector cannot tell ("tietosuoja") in the language of its
        privacy words, through the `language` entity as bot.nlu.language sets it; the detector's verdict, when
        it has one, stands (LanguageSwitch, after this component)."""
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        text = message.get(TEXT)
        if intent not in (ASK_PRIVACY, REQUEST_ERASURE) or current is None or detect(text or ""):
            return
        language = privacy_language(text)
        if language is None or language == current:
            return
        entity = {"entity": LANGUAGE, "value": language, "start": 0, "end": len(text), "extractor": "PrivacyTerms"}
        message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
