"""Ranking facts and passages for a question, and deciding whether the best one answers it.

Dense similarity (multilingual e5) finds paraphrases; a lexical signal (IDF-weighted overlap of
content terms) rewards the exact names and numbers people ask about; the NLU intent, when confident,
nudges towards its topic. e5's cosines sit close together (an unrelated question still scores ~0.75),
so the decision uses calibrated thresholds and the share of the question the knowledge does not
cover at all, not a single fixed cut-off. Thresholds live in RetrievalConfig and are checked by
bench/retrieval_eval.py.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.text import STOPWORDS, terms, words
from bot.language import FINNISH, detect

# The NLU intents that name a topic of the knowledge base.
INTENT_TOPICS = {
    "ask_ris3": "about",
    "ask_priorities": "priorities",
    "ask_timeline": "timeline",
    "ask_project": "project",
    "ask_contact": "contact",
    "ask_brochure": "brochure",
    "ask_publisher": "publisher",
}
# Question words after which the first content word names what is asked about.
WH_WORDS = frozenset(
    "what what's which who who's whom whose when where how kuka kenen mikä mitä mitkä milloin missä "
    "mistä minkä kuinka paljonko montako mille minne millä monta koska kenelle keneltä".split()
)
# Misspellings are corrected towards known words at this similarity (difflib ratio); "gamifcation" and
# "prioritys" are 0.96 and 0.89 from the right word, unrelated words of similar length below 0.7.
SPELLING_CUTOFF = 0.84
# Words that open a question about whether something is so ("is X a priority?", "onko X mukana?").
YES_NO_OPENERS = frozenset(
    "is are does do was were will can could has have isn't aren't doesn't onko onks ovatko oliko".split()
)
# At most this many unknown words are named as "not named" in an overview answer.
MAX_NOT_NAMED = 2
STEM = 5
# Prefix matching joins inflected forms; below this length it would join unrelated words.
MIN_PREFIX = 4


@dataclass(frozen=True)
class RetrievalConfig:
    # e5 scores a question against a passage lower than against a paraphrased question; this puts
    # fact texts and passages on the scale of the keys.
    text_offset: float = 0.03
    lexical_weight: float = 0.05
    intent_bonus: float = 0.03
    intent_min_confidence: float = 0.5
    unknown_penalty: float = 0.08
    # The first content word is usually what is asked about ("the *population* of Kouvola"); when the
    # knowledge does not know it, a match on the remaining words is most likely beside the point.
    focus_penalty: float = 0.08
    answer_threshold: float = 0.86
    # e5 scores Finnish questions higher across the board (unrelated Finnish questions reach 0.90
    # where English ones stay near 0.85), so Finnish needs a higher bar.
    finnish_offset: float = 0.02
    # Passages are raw sentences, not curated answers: they must clear a higher bar.
    passage_threshold: float = 0.89
    # The NLU's out_of_scope lowers the score in proportion to its confidence: a soft vote, because it
    # sees the whole message ("We run a biogas plant near Hamina. Would renewable energy…?") and is
    # easily swayed by context that retrieval reads past.
    out_of_scope_penalty: float = 0.06


@dataclass
class Candidate:
    item: str
    kind: str  # "fact" or "passage"
    topic: str | None
    dense: float
    lexical: float
    score: float


@dataclass
class Decision:
    answer: bool
    reason: str
    best: Candidate | None
    ranked: list[Candidate] = field(default_factory=list)
    # Words of the question that appear nowhere in the knowledge ("tourism" in "is tourism a priority?").
    unknown_words: list[str] = field(default_factory=list)
    # Set when the answer is a topic's overview given because the question asks about something
    # the overview does not name; the reply says so.
    not_named: list[str] = field(default_factory=list)


def asked_part(question: str) -> str:
    """The sentence that asks, when a message gives context first: "We run a biogas plant near
    Hamina. Would renewable energy fall under the priorities?" or "For my article: who is behind it?"."""
    parts = [p for p in re.split(r"(?<=[.!?:])\s+", question.strip()) if words(p)]
    if len(parts) < 2:
        return question
    asked = [p for p in parts if p.rstrip().endswith("?")]
    return asked[-1] if asked else question


class Retriever:
    def __init__(self, index: KnowledgeIndex, embedder: object, config: RetrievalConfig | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.config = config or RetrievalConfig()
        self._item_terms: dict[str, set[str]] = {}
        for fact in index.facts.values():
            bag: list[str] = []
            for text in [*fact.text.values(), *fact.title.values(), *(k for ks in fact.keys.values() for k in ks)]:
                bag.extend(terms(text))
            self._item_terms[fact.id] = set(bag)
        for passage in index.passages.values():
            self._item_terms[passage.id] = set(terms(passage.text))
        self._vocabulary = set().union(*self._item_terms.values())
        doc_freq = Counter(t for ts in self._item_terms.values() for t in ts)
        n_items = len(self._item_terms)
        self._idf = {t: math.log(1 + n_items / df) for t, df in doc_freq.items()}
        # A word the knowledge has never seen weighs as much as a typical one: enough to lower the
        # overlap, not so much that filler words ("somewhere") swamp the words that do match.
        self._unknown_idf = sum(self._idf.values()) / len(self._idf)
        texts = [t for f in index.facts.values() for t in (*f.text.values(), *f.title.values())]
        texts += [k for f in index.facts.values() for ks in f.keys.values() for k in ks]
        texts += [p.text for p in index.passages.values()]
        self._known_words = {w for t in texts for w in words(t)} | STOPWORDS
        # Misspellings are corrected towards content words only: towards stopwords, "call" became "all"
        # and "jobs" the Finnish "jos", and the question lost what it was about.
        self._correction_targets = sorted(self._known_words - STOPWORDS)
        # Terms of what a fact says (not of how people ask for it) that every fact of its topic shares.
        self._stated_terms = {
            f.id: {t for text in [*f.text.values(), *f.title.values()] for t in terms(text)}
            for f in index.facts.values()
        }
        self._topic_common: dict[str, set[str]] = {}
        for fact in index.facts.values():
            ts = self._stated_terms[fact.id]
            common = self._topic_common.get(fact.topic)
            self._topic_common[fact.topic] = set(ts) if common is None else common & ts
        self._overviews = {f.topic: f.id for f in index.facts.values() if f.overview}
        self._row_items = [r.item for r in index.rows]
        self._row_is_key = np.array([r.field == "key" for r in index.rows])

    def _match(self, term: str) -> set[str]:
        """Vocabulary terms that are the same word in another inflection (shared prefix)."""
        if term in self._vocabulary:
            return {term}
        if len(term) < MIN_PREFIX:
            return set()
        # Finnish changes a stem's last letters when it inflects (vuosi, vuosina, vuosille): five shared
        # letters count as the same word.
        stem = term[:STEM] if len(term) >= STEM else None
        return {
            v
            for v in self._vocabulary
            if len(v) >= MIN_PREFIX and (v.startswith(term) or term.startswith(v) or (stem and v[:STEM] == stem))
        }

    def correct(self, question: str) -> str:
        """The question with misspelt words replaced by the known words they are closest to."""
        known = self._known_words

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            lower = word.casefold()
            if lower in known or len(lower) < 3 or lower.isdigit():
                return word
            # Typos rarely hit the first letter; requiring it keeps "call" from becoming "all".
            candidates = [w for w in self._correction_targets if w[0] == lower[0]]
            close = difflib.get_close_matches(lower, candidates, n=1, cutoff=SPELLING_CUTOFF)
            return close[0] if close else word

        return re.sub(r"[^\W_]+", fix, question)

    def rank(self, question: str, intent: str | None = None, intent_confidence: float = 0.0) -> list[Candidate]:
        ranked, _ = self._rank(question, intent, intent_confidence)
        return ranked

    def _rank(
        self, question: str, intent: str | None, intent_confidence: float
    ) -> tuple[list[Candidate], set[str]]:
        cfg = self.config
        # People often give context first and ask last ("Our municipality is revising its plan. Which
        # focus areas…?"); the question sentence alone is matched too, so the context cannot drown it.
        asked = asked_part(question)
        queries = self.embedder.queries([question] if asked == question else [question, asked])
        sims = (self.index.vectors @ queries.T).max(axis=1)
        # Per item: the best key, or the best text/passage row lifted onto the keys' scale.
        adjusted = np.where(self._row_is_key, sims, sims + cfg.text_offset)
        dense: dict[str, float] = {}
        for item, score in zip(self._row_items, adjusted, strict=True):
            if score > dense.get(item, -1.0):
                dense[item] = float(score)

        # Words of the context around the question ("We run a biogas plant near Hamina.") are not what
        # is asked: the overlap and the unknown share are measured on the asked part only.
        q_terms = terms(asked)
        matches = {t: self._match(t) for t in q_terms}
        weights = {t: (max(self._idf[m] for m in ms) if ms else self._unknown_idf) for t, ms in matches.items()}
        total = sum(weights.values()) or 1.0
        unknown_share = sum(w for t, w in weights.items() if not matches[t]) / total
        topic_hint = INTENT_TOPICS.get(intent or "") if intent_confidence >= cfg.intent_min_confidence else None

        candidates: list[Candidate] = []
        for item, d in dense.items():
            fact = self.index.facts.get(item)
            topic = fact.topic if fact else None
            item_terms = self._item_terms[item]
            lexical = sum(w for t, w in weights.items() if matches[t] & item_terms) / total
            score = d + cfg.lexical_weight * lexical - cfg.unknown_penalty * unknown_share
            if topic_hint and topic == topic_hint:
                # Scaled by confidence: a hesitant intent must not outvote a distinctive word that matches.
                score += cfg.intent_bonus * intent_confidence
            candidates.append(Candidate(item, "fact" if fact else "passage", topic, d, lexical, score))
        candidates.sort(key=lambda c: c.score, reverse=True)
        matched = set().union(*matches.values()) if matches else set()
        return candidates, matched

    def unknown_words(self, question: str) -> list[str]:
        found = []
        for word in words(question):
            term = terms(word)
            if term and not self._match(term[0]) and word not in found:
                found.append(word)
        return found

    @staticmethod
    def _asked_about(question: str, unknown: list[str]) -> list[str]:
        """The unknown words worth naming in "the strategy does not name X": only when the question
        asks whether something is included ("is tourism a priority?", "onko matkailu mukana?") and
        names one or two things; otherwise they are context or filler ("list the chosen priorities")."""
        first = (words(question) or [""])[0]
        yes_no = first in YES_NO_OPENERS or (first.endswith(("ko", "kö")) and len(first) > 4)
        return unknown if yes_no and len(unknown) <= MAX_NOT_NAMED else []

    def _focus_unknown(self, question: str) -> bool:
        """In a wh-question the first content word is what is asked about ("what is the *population*
        of Kouvola?"); True when the knowledge does not know that word."""
        question_words = words(question)
        if not question_words or question_words[0] not in WH_WORDS:
            return False
        q_terms = terms(question)
        return bool(q_terms) and not self._match(q_terms[0])

    def decide(self, question: str, intent: str | None = None, intent_confidence: float = 0.0) -> Decision:
        cfg = self.config
        question = self.correct(question)
        if not terms(question):
            return Decision(False, "no content words", None)
        ranked, matched = self._rank(question, intent, intent_confidence)
        best = ranked[0]
        unknown = self.unknown_words(asked_part(question))
        overview = self._overviews.get(best.topic or "")
        threshold = cfg.answer_threshold if best.kind == "fact" else cfg.passage_threshold
        if detect(question) == FINNISH:
            threshold += cfg.finnish_offset
        if (
            overview
            and best.item != overview
            and best.score >= threshold
            and not (matched & self._stated_terms[best.item]) - self._topic_common[best.topic]
        ):
            # Nothing in the question singles out the best fact among its topic ("what are the
            # priorities?", "is tourism one of the priorities?"): answer with the whole topic, and say
            # which asked-about words it does not name.
            chosen = next(c for c in ranked if c.item == overview)
            not_named = self._asked_about(asked_part(question), unknown)
            return Decision(True, "topic overview", chosen, ranked, unknown, not_named=not_named)
        score = best.score - (cfg.focus_penalty if self._focus_unknown(asked_part(question)) else 0.0)
        if intent == "out_of_scope":
            score -= cfg.out_of_scope_penalty * intent_confidence
        if score < threshold:
            return Decision(False, f"best score {score:.3f} below {threshold}", best, ranked, unknown)
        if overview == best.item and unknown:
            not_named = self._asked_about(asked_part(question), unknown)
            return Decision(True, "topic overview", best, ranked, unknown, not_named=not_named)
        return Decision(True, "answer", best, ranked, unknown)
