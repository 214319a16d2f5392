"""The bot's reply to a question with a fact's draft in place of the published fact ("Try it" in the editor).

Nothing is written and the running bot is not touched: the current index is copied with only the draft fact's
rows embedded anew (its keys and texts; every other vector is the index's own), and the question goes the way the
action server sends it (bot.knowledge.conversation.answer_turn with the deployed decision model and classifier).
The reply is rendered from domain.yml's responses in the question's language.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bot.knowledge.conversation import answer_turn
from bot.knowledge.followup import ConversationState
from bot.knowledge.index import KnowledgeIndex, _rows
from bot.knowledge.replies import Reply, choice_reply, reply_for
from bot.knowledge.retrieval import Retriever
from bot.knowledge.store import Knowledge
from bot.language import FINNISH, detect
from bot.settings import PROJECT_ROOT

DOMAIN = PROJECT_ROOT / "domain.yml"


@dataclass
class TriedDraft:
    question: str
    language: str
    replies: list[dict[str, Any]] = field(default_factory=list)
    # What the decision was: "answer <fact>", "ask back", "decline".
    outcome: str = ""
    fact: str | None = None


def draft_index(index: KnowledgeIndex, draft: Knowledge, fact_id: str, embedder: Any) -> KnowledgeIndex:
    """The index as it would be with `draft` (the knowledge with one fact changed or added)."""
    rows, texts, as_query = _rows(draft, list(index.passages.values()))
    old = [i for i, r in enumerate(index.rows) if r.item != fact_id]
    new = [i for i, r in enumerate(rows) if r.item != fact_id]
    same = [index.rows[i] for i in old] == [rows[i] for i in new]
    vectors = np.zeros((len(rows), index.vectors.shape[1]), dtype=index.vectors.dtype)
    if same:
        vectors[new] = index.vectors[old]
        fresh = [i for i, r in enumerate(rows) if r.item == fact_id]
    else:  # the rest of the knowledge changed too: embed everything (seconds, not milliseconds)
        fresh = list(range(len(rows)))
    queries = [i for i in fresh if as_query[i]]
    passages = [i for i in fresh if not as_query[i]]
    if queries:
        vectors[queries] = embedder.queries([texts[i] for i in queries])
    if passages:
        vectors[passages] = embedder.passages([texts[i] for i in passages])
    return KnowledgeIndex(draft, index.passages, rows, vectors, index.manifest)


@lru_cache(maxsize=1)
def _responses(path: Path = DOMAIN) -> dict[str, Any]:
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {}


def render(reply: Reply, language: str) -> list[dict[str, Any]]:
    """The messages of a reply as the user reads them: its response and notes, in the language, with buttons."""
    messages = []
    said = [(reply.response, reply.variables), *reply.notes]
    for number, (response, variables) in enumerate(said):
        variants = _responses().get(response) or []
        chosen = next((v for v in variants if any(c.get("value") == language for c in v.get("condition") or [])),
                      None) or next((v for v in variants if not v.get("condition")), {"text": response})
        fields = {name for _, name, _, _ in string.Formatter().parse(chosen.get("text") or "") if name}
        text = (chosen.get("text") or "").format(**{name: variables.get(name, "") for name in fields})
        last = number == len(said) - 1
        messages.append({"text": text, "buttons": [b.title for b in reply.buttons] if last else []})
    return messages


def try_draft(
    index: KnowledgeIndex, draft: Knowledge, fact_id: str, question: str, language: str | None,
    embedder: Any, model: Any, classifier: Any,
) -> TriedDraft:
    language = language if language in ("en", "fi") else ("fi" if detect(question) == FINNISH else "en")
    trial = draft_index(index, draft, fact_id, embedder)
    if classifier is not None and classifier.coef.shape[1] != trial.vectors.shape[1]:
        classifier = None  # fitted on another embedding than this index's
    retriever = Retriever(trial, embedder, model=model, classifier=classifier)
    turn = answer_turn(retriever, question, ConversationState(), language)
    if turn.kind in ("choose", "what_else") or turn.decision is None:
        reply = choice_reply(trial, turn.options, language, "utter_did_you_mean", none_of_these=True)
        outcome, fact = "ask back", None
    else:
        reply = reply_for(turn.decision, trial, language)
        fact = reply.fact_id if reply.answered else None
        outcome = f"answer with {fact}" if fact else "decline (I don't know, with the contact)"
    return TriedDraft(question, language, render(reply, language), outcome, fact)
