"""One turn of a conversation about the knowledge: the message, read against what the bot said before
(bot.knowledge.followup), asked about a time (bot.knowledge.timeframe) or asked on its own (retrieval),
becomes what to say: a fact, a question back (which one?) or "I don't know". Free of Rasa: the actions
pass the tracker's state in and store the turn's state back."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from bot.knowledge.fact_classifier import NONE
from bot.knowledge.followup import ConversationState, resolve
from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.question import asked_part
from bot.knowledge.retrieval import Candidate, Decision, Retriever
from bot.knowledge.timeframe import Timeframe, timeframe

# A time in a question makes it a question about the timeline when it asks what happened or was planned
# (not "who was the project manager in 2020?").
_ABOUT_EVENTS = re.compile(
    r"\b(happen\w*|going on|planned|plans?|scheduled|take place|took place|occur\w*|next|upcoming|"
    r"what's on|done|tapahtu\w*|tapahtuu|suunnit\w*|tehtiin|tehdään|luvassa|ohjelmassa|"
    r"seuraavaksi|jatkossa|tulossa|aikataulu\w*)\b"
)


@dataclass
class Turn:
    """kind: "answer" (decision says what), "choose" (ask which of options), "what_else" (offer options),
    "all_said" (nothing more than facts[0] in the knowledge: say so, offer options)."""

    kind: str
    decision: Decision | None = None
    options: tuple[str, ...] = ()
    # How the message was read: "question", "ordinal 'second one'", "pronoun 'his'", "time 2021", …
    how: str = "question"
    # The text retrieval was given, when it differs from the message.
    query: str | None = None
    facts: list[str] = field(default_factory=list)


def page_date(index: KnowledgeIndex) -> dt.date:
    """The date the knowledge speaks from: the newest update of its sources ("12.01.2021")."""
    dates = []
    for source in index.knowledge.sources.values():
        try:
            dates.append(dt.datetime.strptime(source.updated, "%d.%m.%Y").date())
        except ValueError:
            continue
    return max(dates) if dates else dt.date.today()


def _fact_decision(retriever: Retriever, fact_id: str, reason: str) -> Decision:
    fact = retriever.index.facts[fact_id]
    chosen = Candidate(fact_id, "fact", fact.topic, 1.0, 1.0, 1.0)
    return Decision(True, reason, chosen, [chosen])


def _timeline_turn(
    retriever: Retriever, question: str, intent: str | None, when: Timeframe
) -> Turn | None:
    """"What happened in autumn 2020?": the facts dated within that time; several → the timeline's
    overview; none → the page says nothing of that time."""
    if not (_ABOUT_EVENTS.search(question.casefold()) or intent == "ask_timeline"):
        return None
    index = retriever.index
    dated = [f for f in index.facts.values() if f.when and when.overlaps(f.when)]
    how = f"time {when.said}"
    if not dated:
        return Turn("answer", Decision(False, f"no fact dated within {when.said}", None), how=how)
    if len(dated) == 1:
        return Turn("answer", _fact_decision(retriever, dated[0].id, how), how=how, facts=[dated[0].id])
    overview = next((f for f in index.knowledge.menu if index.facts[f].topic == dated[0].topic), dated[0].id)
    return Turn("answer", _fact_decision(retriever, overview, how), how=how, facts=[f.id for f in dated])


def _better(first: Decision, second: Decision) -> Decision:
    """Of two readings of one message, the one that answers, or answers with more confidence."""
    if first.answer != second.answer:
        return first if first.answer else second
    if bool(first.ask_back) != bool(second.ask_back):
        return first if first.ask_back else second

    def strength(d: Decision) -> float:
        if d.confidence is not None:
            return d.confidence
        return d.signals.get("threshold_gap", -1.0)

    return first if strength(first) >= strength(second) - 1e-9 else second


def answer_turn(
    retriever: Retriever,
    text: str,
    state: ConversationState,
    lang: str,
    intent: str | None = None,
    intent_confidence: float = 0.0,
) -> Turn:
    index = retriever.index
    context_topic = index.facts[state.last_fact].topic if state.last_fact in index.facts else None
    resolution = resolve(text, state, index.knowledge, lang)
    if resolution.kind == "fact" and resolution.fact_id:
        return Turn("answer", _fact_decision(retriever, resolution.fact_id, resolution.how), how=resolution.how)
    if resolution.kind in ("choose", "what_else"):
        return Turn(resolution.kind, options=resolution.options, how=resolution.how)
    if resolution.kind == "all_said" and resolution.fact_id:
        return Turn("all_said", options=resolution.options, how=resolution.how, facts=[resolution.fact_id])

    original = retriever.decide(text, intent, intent_confidence, context_topic)
    # Only the asked part: "we are preparing our plan for the next years, so I would like to know which
    # themes…" names a time in its context, not in its question.
    asked = asked_part(text)
    when = timeframe(asked, page_date(index))
    # In a conversation a time names the time of its subject ("and what was planned for 2021?"); the classifier,
    # which reads the message alone, is asked only about a first question.
    doubted = state.last_fact is None and _none_first(original)
    if when is not None and not _names_another_topic(original) and not doubted:
        turn = _timeline_turn(retriever, asked, intent, when)
        if turn is not None:
            return turn

    if resolution.kind == "rewrite" and resolution.question:
        rewritten = retriever.decide(resolution.question, intent, intent_confidence, context_topic)
        # An ordinal names its item outright; a pronoun or an ellipsis fills in what the message leaves out,
        # and the reading the knowledge is surer of wins ("when was it updated?" after the publication is
        # about the strategy; "kehen voin olla yhteydessä tästä?" stays a question about a contact).
        chosen = original if _stands_alone(original) else _better(rewritten, original)
        if chosen is rewritten:
            return _turn_for(rewritten, how=resolution.how, query=resolution.question)
    if not original.answer and not original.ask_back and state.last_fact in index.facts:
        contextual = _within_last_topic(retriever, text, state.last_fact, lang, intent, intent_confidence)
        if contextual is not None:
            return contextual
    return _turn_for(original)


def _turn_for(decision: Decision, **how: str) -> Turn:
    """An answer, or "Do you mean …?" with the likely facts when the decision was not sure enough to answer."""
    if not decision.answer and decision.ask_back:
        return Turn("choose", decision, options=tuple(decision.ask_back), how=how.get("how", "ask back"),
                    query=how.get("query"))
    return Turn("answer", decision, **how)


# The fact classifier is this sure that no fact answers ("the KPIs for 2023", "the next strategy after 2025"): a
# time in the question does not make the timeline its answer. The facts' dates answer "what happened in autumn
# 2020?", which the classifier learnt from the training questions; at 0.5 a Finnish one of those was turned away.
NONE_OVER_TIME = 0.6


# The fact classifier is this sure of a fact for the message as written: a pronoun in it ("kehen voin olla
# yhteydessä tästä?" after a priority) does not make it a question about the last answer's subject, whose words
# the rewritten reading would add and which would then pull the classifier to that subject's fact.
STANDS_ALONE = 0.6


def _stands_alone(decision: Decision) -> bool:
    signals = decision.signals
    return decision.answer and not signals.get("cls_top_none") and signals.get("cls_p", 0.0) >= STANDS_ALONE


def _none_first(decision: Decision) -> bool:
    return decision.fact_probabilities.get(NONE, 0.0) >= NONE_OVER_TIME


def _names_another_topic(decision: Decision) -> bool:
    """The question names something outside the timeline ("the focus areas for 2021–2025"): the time is a
    qualifier, not what is asked."""
    best = decision.best
    return bool(decision.answer and best and best.topic not in (None, "timeline") and best.lexical >= 0.3)


# A short message that the knowledge cannot place on its own ("in which month exactly?", "how big is the
# file?") is read as a question about the last answer's subject, answered only within its topic.
SHORT_MESSAGE_WORDS = 8


def _within_last_topic(
    retriever: Retriever, text: str, last_fact: str, lang: str, intent: str | None, intent_confidence: float
) -> Turn | None:
    if len(text.split()) > SHORT_MESSAGE_WORDS or (intent == "out_of_scope" and intent_confidence >= 0.8):
        return None
    index = retriever.index
    fact = index.facts[last_fact]
    subject = index.knowledge.subject(last_fact, lang) or fact.title.get(lang) or fact.title["en"]
    title = fact.title.get(lang) or fact.title["en"]
    question = f"{text} ({subject}: {title})"
    decision = retriever.decide(question, intent, intent_confidence, fact.topic)
    best = decision.best
    if (decision.answer or decision.ask_back) and best is not None and best.topic == fact.topic:
        decision.reason = f"within the last answer's topic ({decision.reason})"
        return _turn_for(decision, how="short question about the last answer", query=question)
    return None
