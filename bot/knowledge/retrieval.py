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
from typing import Protocol

import numpy as np

from bot.knowledge.asks import asked_kinds
from bot.knowledge.fact_classifier import NONE, FactClassifier
from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.present import without_present
from bot.knowledge.question import (
    asked_part,
    has_context,
    is_yes_no,
    membership_subject,
    mentions_own_sector,
    refers_to_context,
    theme_words,
    with_own_sector,
)
from bot.knowledge.store import Fact
from bot.knowledge.text import STOPWORDS, fold, terms, words
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
    # A fact that gives the kind of information asked for ("Petri Tolmusen puhelinnumero?" → the fact with
    # the phone number, not the one about his e-mail) is preferred among near equals.
    asks_bonus: float = 0.03


@dataclass
class Candidate:
    item: str
    kind: str  # "fact" or "passage"
    topic: str | None
    dense: float
    lexical: float
    score: float
    # The best match of the question with what the item says (its text and title, not the ways people ask
    # for it): a near miss resembles a key ("the Kotka office's phone number") more than the answer.
    text_dense: float = 0.0


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
    # The measurements the answer/decline decision rests on (see SIGNALS); recorded with the answer and
    # fed to the calibrated decision model (bot/knowledge/calibration.py).
    signals: dict[str, float] = field(default_factory=dict)
    # The calibrated model's probability that the answer is right, when a model decided.
    confidence: float | None = None
    # The question asks whether something is so ("is logistics a priority?"); `named` are its words that
    # the chosen fact states ("logistics"), for a reply that says yes and names them.
    yes_no: bool = False
    named: list[str] = field(default_factory=list)
    # Below the confidence an answer needs, but likely enough right to ask back ("Do you mean …?") with these
    # facts as buttons instead of saying "I don't know"; never a fact given with a hedge.
    ask_back: list[str] = field(default_factory=list)
    # The fact classifier's probabilities (bot/knowledge/fact_classifier.py): fact id or "none" → probability.
    fact_probabilities: dict[str, float] = field(default_factory=dict)
    # Decided by a rule the calibrated model is not asked about (a question staff taught the bot word for word).
    settled: bool = False


# Below the model's answer threshold but at least this likely right: the bot asks back with the likely facts.
ASK_BACK_PROBABILITY = 0.3
# A fact the classifier gives at least this probability is offered when the bot asks back.
ASK_BACK_OPTION = 0.1
ASK_BACK_MAX_OPTIONS = 3
# A question this close to one of a fact's keys (e5 cosine; a reworded question scores below 0.95) is one the
# knowledge was taught word for word.
TAUGHT_SIMILARITY = 0.98
# Two facts this close in the fact classifier's probabilities are a tie, which retrieval's ranking breaks.
CLASSIFIER_TIE = 0.1
# The share of a question's words (IDF-weighted) unknown to the knowledge at which it is not answered at all.
FOREIGN_SHARE = 0.99


# The names of Decision.signals, in the order the decision model reads them.
SIGNALS = (
    "score", "dense", "lexical", "margin", "unknown_share", "focus_unknown", "intent_confidence",
    "intent_match", "out_of_scope", "passage", "finnish", "overview", "threshold_gap", "context_match", "terms",
    "text_dense", "asks_unmet", "asks_met",
    # From the fact classifier: its probability of the chosen fact and of "none", whether "none" is its first
    # choice, whether retrieval's ranking agreed with it; and whether the hand-set rules would have answered.
    "cls_p", "cls_none", "cls_top_none", "cls_agree", "rules_answer",
)


class AnswerModel(Protocol):
    """Decides from a decision's signals whether to answer (implemented in bot/knowledge/calibration.py)."""

    def probability(self, signals: dict[str, float]) -> float: ...

    def accepts(self, signals: dict[str, float], language: str) -> bool: ...


class Retriever:
    def __init__(
        self,
        index: KnowledgeIndex,
        embedder: object,
        config: RetrievalConfig | None = None,
        model: AnswerModel | None = None,
        classifier: FactClassifier | None = None,
    ) -> None:
        self.index = index
        self.classifier = classifier
        # Without a model the hand-set thresholds of RetrievalConfig decide (the "before" of the calibration).
        self.model = model
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
        # A passage that a curated fact quotes whole is answered by the fact: "Kymenlaakso's choices for smart
        # specialisation priorities for 2021 – 2025 are" alone says nothing, the fact that quotes it lists them.
        self._quoted_by: dict[str, list[str]] = {}
        for passage in index.passages.values():
            text = fold(passage.text).casefold().rstrip(" .:")
            quoting = [
                f.id for f in index.facts.values()
                if f.kind == "answer" and any(text and text in fold(q.text).casefold() for q in f.quotes)
            ]
            if quoting:
                self._quoted_by[passage.id] = quoting
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
        ranked, _, _ = self._rank(question, intent, intent_confidence)
        return ranked

    def classifier_text(self, question: str) -> str:
        """The text the fact classifier reads: spelling corrected and "my sector" filled in, as decide() does,
        without the words that only place it in the present (bot/knowledge/present.py)."""
        return without_present(with_own_sector(self.correct(question)))

    def _rank(
        self, question: str, intent: str | None, intent_confidence: float
    ) -> tuple[list[Candidate], set[str], np.ndarray]:
        """The candidates best first, the knowledge's terms the question matched, and the embeddings of the
        whole question and of its asked part when that differs (the fact classifier's input)."""
        cfg = self.config
        # People often give context first and ask last ("Our municipality is revising its plan. Which
        # focus areas…?"); the question sentence alone is matched too, so the context cannot drown it.
        asked = asked_part(question)
        queries = self.embedder.queries([question] if asked == question else [question, asked])
        sims = (self.index.vectors @ queries.T).max(axis=1)
        # Per item: the best key, or the best text/passage row lifted onto the keys' scale.
        adjusted = np.where(self._row_is_key, sims, sims + cfg.text_offset)
        dense: dict[str, float] = {}
        text_dense: dict[str, float] = {}
        for item, score, is_key in zip(self._row_items, adjusted, self._row_is_key, strict=True):
            if score > dense.get(item, -1.0):
                dense[item] = float(score)
            if not is_key and score > text_dense.get(item, -1.0):
                text_dense[item] = float(score)

        # Words of the context around the question ("We run a biogas plant near Hamina.") are not what
        # is asked: the overlap and the unknown share are measured on the asked part only.
        q_terms = terms(asked)
        matches = {t: self._match(t) for t in q_terms}
        weights = {t: (max(self._idf[m] for m in ms) if ms else self._unknown_idf) for t, ms in matches.items()}
        total = sum(weights.values()) or 1.0
        unknown_share = sum(w for t, w in weights.items() if not matches[t]) / total
        topic_hint = INTENT_TOPICS.get(intent or "") if intent_confidence >= cfg.intent_min_confidence else None
        # The whole message: "Can I e-mail Petri directly? What's the address?" asks for an e-mail address.
        kinds = asked_kinds(question)

        candidates: list[Candidate] = []
        for item, d in dense.items():
            fact = self.index.facts.get(item)
            topic = fact.topic if fact else None
            item_terms = self._item_terms[item]
            lexical = sum(w for t, w in weights.items() if matches[t] & item_terms) / total
            score = d + cfg.lexical_weight * lexical - cfg.unknown_penalty * unknown_share
            if kinds and fact is not None and kinds & set(fact.answers):
                score += cfg.asks_bonus
            if topic_hint and topic == topic_hint:
                # Scaled by confidence: a hesitant intent must not outvote a distinctive word that matches.
                score += cfg.intent_bonus * intent_confidence
            candidates.append(
                Candidate(item, "fact" if fact else "passage", topic, d, lexical, score, text_dense.get(item, d))
            )
        candidates.sort(key=lambda c: c.score, reverse=True)
        matched = set().union(*matches.values()) if matches else set()
        return candidates, matched, queries

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
        themes = set(theme_words(question))
        unknown = [w for w in unknown if w in themes]
        return unknown if is_yes_no(question) and len(unknown) <= MAX_NOT_NAMED else []

    def _focus_unknown(self, question: str) -> bool:
        """In a wh-question the first content word is what is asked about ("what is the *population*
        of Kouvola?"); True when the knowledge does not know that word."""
        question_words = words(question)
        if not question_words or question_words[0] not in WH_WORDS:
            return False
        q_terms = terms(question)
        return bool(q_terms) and not self._match(q_terms[0])

    def decide(
        self,
        question: str,
        intent: str | None = None,
        intent_confidence: float = 0.0,
        context_topic: str | None = None,
    ) -> Decision:
        """Whether the knowledge answers the question, and with what. context_topic is the topic of the
        conversation's last answer, one of the signals the calibrated model weighs."""
        if has_context(question):
            # The NLU classified the whole message, context included ("we're drafting our development plan…
            # which years does the strategy cover?"); its intent says more about the context than the question.
            intent, intent_confidence = None, 0.0
        # Spelling and "my sector" once per question: both readings below work on the same text.
        question = with_own_sector(self.correct(question))
        decision = self._decide_by_rules(question, intent, intent_confidence, context_topic)
        membership = self._membership(question, decision)
        if membership is not None:
            return membership
        if self.model is not None and decision.best is not None and decision.signals and not decision.settled:
            language = FINNISH if decision.signals.get("finnish") else "en"
            decision.confidence = self.model.probability(decision.signals)
            # Not one of the asked words is in the knowledge ("restart", a name it has never seen): whatever the
            # classifier makes of such a message, the knowledge does not speak of it.
            foreign = decision.signals.get("unknown_share", 0.0) >= FOREIGN_SHARE
            accepted = self.model.accepts(decision.signals, language) and not foreign
            if accepted != decision.answer:
                decision.reason = f"{'answer' if accepted else 'decline'} by the calibrated model " \
                    f"(p={decision.confidence:.2f}; rules: {decision.reason})"
                decision.answer = accepted
            # Asked back only when some fact is likelier than "none": a near miss gets "I don't know" and the contact.
            # Or, against the classifier's "none", when retrieval's own rules answer and the model is at least even:
            # a rare word ("kärkiteemat") is not a near miss.
            signals = decision.signals
            likely = decision.confidence >= ASK_BACK_PROBABILITY and (
                not signals.get("cls_top_none") or (signals.get("rules_answer", 0.0) > 0 and decision.confidence >= 0.5)
            )
            if not accepted and likely and not foreign:
                options = self._ask_back_options(decision)
                if decision.fact_probabilities and options == [decision.best.item]:
                    # One likely fact and no other: a question back would offer a single button. The best guess
                    # is given plainly instead; its "Did this answer your question?" buttons ask the rest.
                    decision.answer = True
                    decision.reason = f"the only likely fact (p={decision.confidence:.2f})"
                else:
                    decision.ask_back = options
        return decision

    def _ask_back_options(self, decision: Decision) -> list[str]:
        """The facts to offer with "Do you mean …?": the chosen one, then the classifier's other likely facts."""
        options = [decision.best.item] if decision.best is not None and decision.best.kind == "fact" else []
        likely = sorted(
            ((p, f) for f, p in decision.fact_probabilities.items() if f != NONE and f in self.index.facts),
            reverse=True,
        )
        options += [f for p, f in likely if p >= ASK_BACK_OPTION and f not in options]
        return options[:ASK_BACK_MAX_OPTIONS]

    def _with_classifier(self, decision: Decision, vectors: np.ndarray, question: str) -> Decision:
        """The classifier's first fact becomes the candidate (retrieval's ranking says which fact is most like
        the question; the classifier, fitted on labelled questions, which fact answers it), and its
        probabilities become signals of the calibrated decision."""
        assert self.classifier is not None and decision.best is not None
        # Context first ("As a journalist I'm writing about…. Which organisation is behind it?"): the context pulls
        # the whole message towards "none"; the asked part alone is read too and the two readings averaged.
        plain = without_present(question)
        if plain != question:
            # Read without "current"/"nykyiset", as it was fitted (classifier_text); the note on today's standing
            # is added to the answer by bot/knowledge/currency.py.
            asked = asked_part(plain)
            vectors = self.embedder.queries([plain] if asked == plain else [plain, asked])
        readings = [self.classifier.probabilities(v) for v in vectors]
        probabilities = {c: sum(r[c] for r in readings) / len(readings) for c in readings[0]}
        decision.fact_probabilities = probabilities
        facts = {f: p for f, p in probabilities.items() if f != NONE and f in self.index.facts}
        signals = decision.signals
        best = decision.best.item
        chosen = max(facts, key=lambda f: facts[f]) if facts else best
        if best in facts and chosen != best and facts[chosen] - facts[best] < CLASSIFIER_TIE:
            # The classifier cannot tell the two apart ("Can I e-mail Petri? What's the address?": the e-mail
            # fact and the addresses); retrieval's ranking, which weighs the kind of information asked for, does.
            chosen = best
        taught = decision.best.dense >= TAUGHT_SIMILARITY
        settled = best in self.index.facts and (taught or best not in probabilities)
        if settled:
            chosen = best
        # Every decision carries every signal, so that the model is fitted on all of them.
        signals["rules_answer"] = float(decision.answer)
        signals["cls_p"] = probabilities.get(chosen, 0.0)
        signals["cls_none"] = probabilities.get(NONE, 0.0)
        signals["cls_top_none"] = float(max(probabilities, key=lambda c: probabilities[c]) == NONE)
        signals["cls_agree"] = float(best == chosen)
        if settled:
            # Staff taught the bot this question (Review adds it to the fact's keys), or the fact is newer than
            # the classifier, which cannot know it: the knowledge's own match decides, as before the classifier.
            decision.settled = True
            decision.answer = decision.answer or taught
            decision.reason = f"{'taught' if taught else 'a fact newer than the classifier'}: {decision.reason}"
            return decision
        if decision.best.item == chosen:
            return decision
        candidate = next((c for c in decision.ranked if c.item == chosen), None) or Candidate(
            chosen, "fact", self.index.facts[chosen].topic, 0.0, 0.0, 0.0
        )
        asked = asked_part(question)
        chosen_decision = Decision(
            decision.answer, f"fact classifier (retrieval's first: {decision.best.item})", candidate,
            decision.ranked, decision.unknown_words, signals=signals, fact_probabilities=probabilities,
        )
        if is_yes_no(asked):
            chosen_decision.yes_no = True
            chosen_decision.named = self.named_words(asked, chosen)
        return chosen_decision

    def _decide_by_rules(
        self, question: str, intent: str | None, intent_confidence: float, context_topic: str | None
    ) -> Decision:
        if not terms(question):
            return Decision(False, "no content words", None)
        ranked, matched, vectors = self._rank(question, intent, intent_confidence)
        decision = self._decide_on_ranking(question, intent, intent_confidence, context_topic, ranked, matched)
        if self.classifier is not None and decision.best is not None and decision.signals:
            decision = self._with_classifier(decision, vectors, question)
        return decision

    def _decide_on_ranking(
        self, question: str, intent: str | None, intent_confidence: float, context_topic: str | None,
        ranked: list[Candidate], matched: set[str],
    ) -> Decision:
        cfg = self.config
        best = ranked[0]
        if best.kind == "passage" and best.item in self._quoted_by:
            facts = {c.item: c for c in ranked if c.item in self._quoted_by[best.item]}
            fact = max(facts.values(), key=lambda c: c.score) if facts else None
            if fact is not None:
                best = Candidate(fact.item, "fact", fact.topic, best.dense, best.lexical, best.score, best.text_dense)
                ranked = [best, *(c for c in ranked[1:] if c.item != fact.item)]
        asked = asked_part(question)
        unknown = self.unknown_words(asked)
        overview = self._overviews.get(best.topic or "")
        threshold = cfg.answer_threshold if best.kind == "fact" else cfg.passage_threshold
        finnish = detect(question) == FINNISH
        if finnish:
            threshold += cfg.finnish_offset
        focus_unknown = self._focus_unknown(asked)
        score = best.score - (cfg.focus_penalty if focus_unknown else 0.0)
        if intent == "out_of_scope":
            score -= cfg.out_of_scope_penalty * intent_confidence
        second = ranked[1].score if len(ranked) > 1 else best.score - 0.1
        q_terms = terms(asked)
        signals = {
            "score": score,
            "dense": best.dense,
            "lexical": best.lexical,
            "margin": best.score - second,
            "unknown_share": self._unknown_share(q_terms),
            "focus_unknown": float(focus_unknown),
            "intent_confidence": intent_confidence,
            "intent_match": float(INTENT_TOPICS.get(intent or "") == best.topic) * intent_confidence,
            "out_of_scope": intent_confidence if intent == "out_of_scope" else 0.0,
            "passage": float(best.kind == "passage"),
            "finnish": float(finnish),
            "overview": 0.0,
            "threshold_gap": score - threshold,
            "context_match": float(bool(context_topic) and context_topic == best.topic),
            "terms": math.log1p(len(q_terms)),
            "text_dense": best.text_dense,
            **self._asks_signals(question, best),
        }
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
            not_named = self._asked_about(asked, unknown)
            signals["overview"] = 1.0
            signals["threshold_gap"] = best.score - threshold
            return Decision(True, "topic overview", chosen, ranked, unknown, not_named=not_named, signals=signals)
        if score < threshold:
            return Decision(False, f"best score {score:.3f} below {threshold}", best, ranked, unknown, signals=signals)
        if overview == best.item and unknown:
            not_named = self._asked_about(asked, unknown)
            signals["overview"] = 1.0
            return Decision(True, "topic overview", best, ranked, unknown, not_named=not_named, signals=signals)
        decision = Decision(True, "answer", best, ranked, unknown, signals=signals)
        if best.kind == "fact" and is_yes_no(asked):
            decision.yes_no = True
            decision.named = self.named_words(asked, best.item)
        return decision

    def _membership(self, question: str, decision: Decision) -> Decision | None:
        """"Does the strategy cover ports?", "is my sector (logistics) among the priorities?": yes, naming the
        listed fact that states the theme, or the overview saying the theme is not named. Decided on the
        knowledge's own words, not on a score: a theme is named or it is not. `full` is already corrected."""
        full = question
        asked = asked_part(full)
        subject = membership_subject(asked)
        if subject and refers_to_context(subject) and asked != full:
            # "We have a project idea on circular economy. Which priority would it fit?": the theme is in the
            # context; unnamed words there are not reported (most of them are not the theme).
            subject = full.replace(asked, " ")
            from_context = True
        else:
            from_context = False
        themes = theme_words(subject) if subject else []
        if not themes and not (subject and mentions_own_sector(subject)):
            return None
        best = decision.best
        if decision.answer and best is not None and best.kind == "fact":
            fact = self.index.facts[best.item]
            in_fact = all(self._match(t) & self._stated_terms[fact.id] for w in themes for t in terms(w))
            # A theme the answer states outside any list ("does the strategy cover 2021–2025?") stays answered.
            if in_fact and not any(fact.id in f.lists or f.id == fact.id for f in self._listing_facts()):
                return None
        for overview in self._listing_facts():
            named = {f: self.named_words(" ".join(themes), f) for f in overview.lists}
            hits = [f for f, found in named.items() if found]
            if hits:
                ranked = {c.item: c for c in decision.ranked}
                chosen = max(hits, key=lambda f: (len(named[f]), ranked[f].score if f in ranked else 0.0))
                candidate = ranked.get(chosen) or Candidate(chosen, "fact", overview.topic, 0.0, 0.0, 0.0)
                return Decision(
                    True, f"membership: {', '.join(named[chosen])} named", candidate, decision.ranked,
                    decision.unknown_words, yes_no=True, named=named[chosen],
                )
        overview = next(iter(self._listing_facts()), None)
        if overview is None:
            return None
        candidate = next((c for c in decision.ranked if c.item == overview.id), None) or Candidate(
            overview.id, "fact", overview.topic, 0.0, 0.0, 0.0
        )
        return Decision(
            True, "membership: not named", candidate, decision.ranked, decision.unknown_words,
            not_named=[] if from_context else themes[: MAX_NOT_NAMED + 1], yes_no=True,
        )

    def _listing_facts(self) -> list[Fact]:
        """The overviews that enumerate their topic's facts (the three priorities)."""
        return [f for f in self.index.facts.values() if f.overview and f.lists]

    def named_words(self, asked: str, fact_id: str) -> list[str]:
        """The asked words that the fact states and that set it apart from its topic's other facts."""
        distinctive = self._stated_terms[fact_id] - self._topic_common.get(self.index.facts[fact_id].topic, set())
        found: list[str] = []
        for word in words(asked):
            term = terms(word)
            if term and self._match(term[0]) & distinctive and word not in found:
                found.append(word)
        return found

    def _asks_signals(self, asked: str, best: Candidate) -> dict[str, float]:
        """Whether the question asks for a kind of information (a phone number, a date) that the chosen fact
        gives, or one that it does not."""
        kinds = asked_kinds(asked)
        fact = self.index.facts.get(best.item)
        given = set(fact.answers) if fact else set()
        # Overlapping phrasings ask for several kinds at once ("e-mail address"): one given is enough.
        return {
            "asks_unmet": float(bool(kinds) and not kinds & given),
            "asks_met": float(bool(kinds & given)),
        }

    def _unknown_share(self, q_terms: list[str]) -> float:
        """The IDF-weighted share of the asked terms that the knowledge does not contain at all."""
        if not q_terms:
            return 0.0
        weights = {
            t: (max(self._idf[m] for m in ms) if (ms := self._match(t)) else -self._unknown_idf) for t in q_terms
        }
        total = sum(abs(w) for w in weights.values()) or 1.0
        return sum(-w for w in weights.values() if w < 0) / total
