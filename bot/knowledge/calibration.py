"""The calibrated answer/decline decision: a logistic regression over the signals of a retrieval Decision.

The model is fitted by bench/decision_calibrate.py on the labelled questions of tests/data/decision_cases.yml
and stored as plain numbers in knowledge/decision_model.json; at run time only numpy is needed (the action
server imports this module, so scikit-learn is imported inside the fitting functions only).

A probability says how likely the chosen fact is a correct answer. Each language has its own threshold,
chosen on the fitting data so that the answers given stay at least 98% correct there: a wrong fact given
with confidence costs far more than an "I don't know" that hands the user to the project manager.
docs/calibration.md explains the set, the refit and the figures.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

# Products of two signals the model may use besides the signals themselves ("a*b"): Finnish slopes of the
# similarity signals (e5 scores Finnish higher across the board), which raised the Finnish coverage at the
# target precision; other pairwise products did not.
INTERACTIONS: tuple[str, ...] = (
    "finnish*score", "finnish*text_dense", "finnish*lexical", "finnish*unknown_share", "finnish*margin",
)
FORMAT_VERSION = 1
# The share of the labelled questions kept out of the fit, chosen by a hash of the question so that the
# split does not change when cases are added or reordered.
HELD_OUT_SHARE = 0.30
# The confidence assumed for a labelled case's intent (as bench/retrieval_eval.py does).
INTENT_CONFIDENCE = 0.9
LANGUAGES = ("en", "fi")
# Regularisation strengths tried; the one with the lowest cross-validated log loss wins. (The coverage at the
# target precision, the other candidate criterion, jumps with single questions: it picked at random.)
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
# Thresholds at which the cross-validated curve is recorded in the model's info.
CURVE_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)


def _sigmoid(z: float) -> float:
    # Split by sign so that a large |z| neither overflows exp() nor loses the small probability.
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def feature_value(signals: Mapping[str, float], name: str) -> float | None:
    """One feature: a signal, or the product of two ("a*b"); None when a signal is missing."""
    value = 1.0
    for part in name.split("*"):
        if part not in signals:
            return None
        value *= float(signals[part])
    return value


@dataclass
class DecisionModel:
    """Logistic regression on standardised features, with a probability threshold per language."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    thresholds: dict[str, float]
    # How it was fitted and what it measured (cases, C, fit-part precision/coverage); informative only.
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.features)
        if not (len(self.mean) == len(self.scale) == len(self.coef) == n):
            raise ValueError("decision model: features, mean, scale and coef differ in length")
        if not self.thresholds:
            raise ValueError("decision model: no thresholds")
        self._mean = np.asarray(self.mean, dtype=float)
        self._scale = np.asarray(self.scale, dtype=float)
        self._coef = np.asarray(self.coef, dtype=float)

    def vector(self, signals: Mapping[str, float]) -> np.ndarray:
        """The standardised features. A signal the model knows but the decision lacks (a retrieval that
        no longer computes it) counts as its mean, i.e. no evidence either way."""
        raw = [feature_value(signals, name) for name in self.features]
        values = np.array([self.mean[i] if v is None else v for i, v in enumerate(raw)], dtype=float)
        return (values - self._mean) / self._scale

    def logit(self, signals: Mapping[str, float]) -> float:
        return float(self.intercept + self._coef @ self.vector(signals))

    def probability(self, signals: Mapping[str, float]) -> float:
        """The estimated probability that answering with the decision's chosen fact is correct."""
        return _sigmoid(self.logit(signals))

    def probabilities(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """probability() of many decisions at once (fitting and measuring)."""
        x = feature_matrix(rows, self.features)
        x = np.where(np.isnan(x), self._mean, x)
        z = self.intercept + ((x - self._mean) / self._scale) @ self._coef
        return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))

    def threshold(self, language: str) -> float:
        # A language without its own threshold gets the strictest one: better an "I don't know".
        return self.thresholds.get(language, max(self.thresholds.values()))

    def accepts(self, signals: Mapping[str, float], language: str) -> bool:
        return self.probability(signals) >= self.threshold(language)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "kind": "logistic_regression",
            "features": list(self.features),
            "mean": [float(v) for v in self.mean],
            "scale": [float(v) for v in self.scale],
            "coef": [float(v) for v in self.coef],
            "intercept": float(self.intercept),
            "thresholds": {k: float(v) for k, v in sorted(self.thresholds.items())},
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DecisionModel:
        if data.get("format") != FORMAT_VERSION or data.get("kind") != "logistic_regression":
            raise ValueError(f"decision model: unsupported format {data.get('format')!r}/{data.get('kind')!r}")
        return cls(
            features=list(data["features"]),
            mean=[float(v) for v in data["mean"]],
            scale=[float(v) for v in data["scale"]],
            coef=[float(v) for v in data["coef"]],
            intercept=float(data["intercept"]),
            thresholds={str(k): float(v) for k, v in data["thresholds"].items()},
            info=dict(data.get("info") or {}),
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> DecisionModel:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


# --- measuring -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """Precision and coverage of answering every question whose probability reaches `threshold`."""

    threshold: float
    answers: int
    correct: int
    answerable: int

    @property
    def wrong(self) -> int:
        return self.answers - self.correct

    @property
    def precision(self) -> float:
        # No answers given, none wrong: precision is taken as 1 (the point is reported with its counts).
        return self.correct / self.answers if self.answers else 1.0

    @property
    def coverage(self) -> float:
        return self.correct / self.answerable if self.answerable else 0.0


def point(probabilities: Sequence[float], correct: Sequence[bool], answerable: int, threshold: float) -> Point:
    p = np.asarray(probabilities, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    given = p >= threshold
    return Point(threshold, int(given.sum()), int((given & ok).sum()), answerable)


def curve(
    probabilities: Sequence[float], correct: Sequence[bool], answerable: int, thresholds: Sequence[float]
) -> list[Point]:
    return [point(probabilities, correct, answerable, t) for t in thresholds]


def choose_threshold(
    probabilities: Sequence[float],
    correct: Sequence[bool],
    answerable: int,
    target: float = 0.98,
    margin: float = 0.01,
    min_answers: int = 10,
) -> Point:
    """The lowest threshold (the most answers) whose answers are at least target + margin correct, among
    the cuts that give at least min_answers answers (a handful of answers proves nothing). Without one, a
    threshold above every probability: the model then never answers in that language."""
    p = np.asarray(probabilities, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    order = np.argsort(-p, kind="stable")
    need = target + margin
    chosen: Point | None = None
    correct_so_far = 0
    for rank, i in enumerate(order, start=1):
        correct_so_far += int(ok[i])
        # Equal probabilities are answered together: judge a cut only after the last of a tie.
        if rank < len(order) and p[order[rank]] == p[i]:
            continue
        if rank >= min_answers and correct_so_far / rank >= need:
            chosen = Point(float(p[i]), rank, correct_so_far, answerable)
    if chosen is None:
        top = float(p.max()) if len(p) else 1.0
        return Point(min(1.0, top + 1e-6), 0, 0, answerable)
    return chosen


# --- fitting (scikit-learn, imported here only) ------------------------------------------------------


def feature_matrix(rows: Sequence[Mapping[str, float]], features: Sequence[str]) -> np.ndarray:
    """Rows of raw feature values; a missing signal is NaN, filled with the column mean by fit()."""
    values = [[feature_value(r, name) for name in features] for r in rows]
    return np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)


def fit(
    rows: Sequence[Mapping[str, float]],
    correct: Sequence[bool],
    features: Sequence[str],
    c: float = 0.3,
    wrong_weight: float = 1.0,
) -> DecisionModel:
    """A logistic regression on standardised features (thresholds are set by the caller). wrong_weight
    weighs the rows where answering would be wrong: a wrong answer costs more than a missed one, and the
    weight makes the fit separate them best where the threshold will sit, among the confident answers."""
    from sklearn.linear_model import LogisticRegression

    x = feature_matrix(rows, features)
    mean = np.nanmean(x, axis=0)
    x = np.where(np.isnan(x), mean, x)
    scale = x.std(axis=0)
    # A constant feature (a signal that never varies in the set) gets scale 1: centred, it is 0 and weighs nothing.
    scale = np.where(scale > 1e-9, scale, 1.0)
    y = np.asarray(correct, dtype=int)
    regression = LogisticRegression(C=c, max_iter=5000, class_weight={0: wrong_weight, 1: 1.0})
    regression.fit((x - mean) / scale, y)
    return DecisionModel(
        features=list(features),
        mean=mean.tolist(),
        scale=scale.tolist(),
        coef=regression.coef_[0].tolist(),
        intercept=float(regression.intercept_[0]),
        thresholds={"en": 0.5, "fi": 0.5},
    )


def cross_validated(
    rows: Sequence[Mapping[str, float]],
    correct: Sequence[bool],
    features: Sequence[str],
    c: float,
    wrong_weight: float = 1.0,
    folds: int = 5,
    repeats: int = 8,
    seed: int = 0,
) -> np.ndarray:
    """Each row's probability from models fitted without it, averaged over repeated stratified folds: the
    probabilities the thresholds are chosen on, so that they are not flattered by the rows' own fit."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(correct, dtype=bool)
    total = np.zeros(len(rows))
    for repeat in range(repeats):
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed + repeat)
        for train, test in splitter.split(np.zeros(len(rows)), y):
            model = fit([rows[i] for i in train], y[train], features, c, wrong_weight)
            total[test] += model.probabilities([rows[i] for i in test])
    return total / repeats


# --- the labelled set ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledCase:
    q: str
    lang: str
    # The facts that answer it; None when the knowledge cannot answer it.
    expect: frozenset[str] | None
    intent: str | None = None
    after: str | None = None
    source: str = "decision_cases"
    # The fact listed first: the best answer (a specific priority before the overview that names it too).
    first: str | None = None


def is_held_out(question: str, share: float = HELD_OUT_SHARE, salt: str = "") -> bool:
    digest = hashlib.sha256((salt + " ".join(question.casefold().split())).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) / 0x1_0000_0000 < share


# tests/data/stakeholder_questions.yml (issue 23) keeps a larger part out, with a split of its own, so that the
# held-out figures rest on about 75 answerable questions per language.
STAKEHOLDER_SOURCE = "stakeholder_questions"
STAKEHOLDER_HELD_OUT_SHARE = 0.40
STAKEHOLDER_SALT = "stakeholder:"


def stakeholder_held_out(question: str) -> bool:
    """Whether a question of tests/data/stakeholder_questions.yml is in its held-out part (never fitted on)."""
    return is_held_out(question, STAKEHOLDER_HELD_OUT_SHARE, STAKEHOLDER_SALT)


def load_cases(path: Path, source: str = "decision_cases", default_lang: str | None = None) -> list[LabelledCase]:
    """Cases from tests/data/decision_cases.yml, or from a set with the same q/expect/intent fields (such as
    tests/data/retrieval_cases.yml: its cases have no `lang`, so default_lang or the caller decides)."""
    cases = []
    for raw in yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []:
        expect = raw["expect"]
        cases.append(
            LabelledCase(
                q=raw["q"],
                lang=raw.get("lang") or default_lang or "",
                expect=None if expect == "none" else frozenset(expect),
                intent=raw.get("intent"),
                after=raw.get("after"),
                source=source,
                first=None if expect == "none" else expect[0],
            )
        )
    return cases


def load_labelled(cases_path: Path, extra_paths: Sequence[Path] = ()) -> list[LabelledCase]:
    """The labelled set, plus sets labelled the same way but without `lang` (tests/data/retrieval_cases.yml):
    their language is the one detected, English when it cannot be told. split() fits on those only."""
    from bot.language import FINNISH, detect

    cases = load_cases(cases_path)
    for path in extra_paths:
        for case in load_cases(path, source=Path(path).stem):
            lang = case.lang or (FINNISH if detect(case.q) == FINNISH else "en")
            cases.append(LabelledCase(case.q, lang, case.expect, case.intent, case.after, case.source, case.first))
    return cases


@dataclass
class Outcome:
    """What retrieval decided for a labelled case."""

    case: LabelledCase
    answered: bool
    best: str | None
    signals: dict[str, float]
    confidence: float | None = None

    @property
    def language(self) -> str:
        """The language the model's threshold is taken for (the one retrieval detects, as at run time)."""
        return "fi" if self.signals.get("finnish") else "en"

    @property
    def right_fact(self) -> bool:
        """Answering would be correct: the question is answerable and the chosen fact answers it."""
        return self.case.expect is not None and self.best in self.case.expect

    @property
    def correct(self) -> bool:
        return self.answered and self.right_fact

    @property
    def wrong(self) -> bool:
        return self.answered and not self.right_fact


def decide_cases(retriever: Any, cases: Sequence[LabelledCase]) -> list[Outcome]:
    """Each case through retriever.decide() as the actions call it: the case's intent at INTENT_CONFIDENCE,
    and after an answer the topic of that answer's fact as the conversation's context."""
    facts = retriever.index.facts
    outcomes = []
    for case in cases:
        context = facts[case.after].topic if case.after and case.after in facts else None
        confidence = INTENT_CONFIDENCE if case.intent else 0.0
        decision = retriever.decide(case.q, case.intent, confidence, context)
        best = decision.best.item if decision.best is not None else None
        outcomes.append(Outcome(case, bool(decision.answer), best, dict(decision.signals), decision.confidence))
    return outcomes


def summary(outcomes: Sequence[Outcome]) -> Point:
    """Precision and coverage of the decisions as they were made (threshold not applicable: NaN)."""
    answerable = sum(o.case.expect is not None for o in outcomes)
    return Point(float("nan"), sum(o.answered for o in outcomes), sum(o.correct for o in outcomes), answerable)


# --- calibrating on the labelled set -------------------------------------------------------------------


def split(outcomes: Sequence[Outcome]) -> tuple[list[Outcome], list[Outcome]]:
    """(fit part, held-out part): decision_cases and stakeholder_questions each keep their held-out part out;
    cases from other sets are fitted on only."""
    def held(o: Outcome) -> bool:
        if o.case.source == STAKEHOLDER_SOURCE:
            return stakeholder_held_out(o.case.q)
        return o.case.source == "decision_cases" and is_held_out(o.case.q)

    return [o for o in outcomes if not held(o)], [o for o in outcomes if held(o)]


def _language_point(
    outcomes: Sequence[Outcome], probabilities: np.ndarray, language: str, target: float, margin: float
) -> Point:
    mask = np.array([o.language == language for o in outcomes], dtype=bool)
    right = np.array([o.right_fact for o in outcomes], dtype=bool)
    answerable = sum(o.case.expect is not None for o, m in zip(outcomes, mask, strict=True) if m)
    return choose_threshold(probabilities[mask], right[mask], answerable, target, margin)


def calibrate(
    fit_part: Sequence[Outcome], target: float = 0.98, margin: float = 0.01, c_grid: Sequence[float] = C_GRID
) -> DecisionModel:
    """The model fitted on the fit part, with per-language thresholds chosen on its cross-validated
    probabilities. Decisions without signals were made by a rule the model is never asked about (no content
    words, a membership question) and are left out. The languages are the ones retrieval detects, because
    that is whose threshold applies at run time."""
    # Imported here: retrieval may one day import this module for its AnswerModel.
    from bot.knowledge.retrieval import SIGNALS

    usable = [o for o in fit_part if o.signals]
    rows = [o.signals for o in usable]
    right = [o.right_fact for o in usable]
    # Only the signals every decision has: without the fact classifier its signals are missing, and the model
    # is fitted without them.
    features = [f for f in (*SIGNALS, *INTERACTIONS) if all(feature_value(r, f) is not None for r in rows)]
    y = np.array(right, dtype=float)
    tried: dict[str, dict[str, Any]] = {}
    best: tuple[float, float, np.ndarray] | None = None
    for c in c_grid:
        probabilities = cross_validated(rows, right, features, c)
        clipped = np.clip(probabilities, 1e-6, 1 - 1e-6)
        log_loss = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))
        tried[str(c)] = {"log_loss": round(log_loss, 5)}
        for lang in LANGUAGES:
            p = _language_point(usable, probabilities, lang, target, margin)
            tried[str(c)][lang] = {"threshold": round(p.threshold, 6), "coverage": round(p.coverage, 4)}
        if best is None or log_loss < best[0] - 1e-9:
            best = (log_loss, c, probabilities)
    assert best is not None, "no regularisation strength to try"
    _, c, probabilities = best
    model = fit(rows, right, features, c)
    model.thresholds = {}
    figures: dict[str, Any] = {}
    curves: dict[str, Any] = {}
    for lang in LANGUAGES:
        p = _language_point(usable, probabilities, lang, target, margin)
        model.thresholds[lang] = round(p.threshold, 6)
        figures[lang] = {
            "threshold": round(p.threshold, 6), "answers": p.answers, "correct": p.correct,
            "answerable": p.answerable, "precision": round(p.precision, 4), "coverage": round(p.coverage, 4),
        }
        mask = np.array([o.language == lang for o in usable], dtype=bool)
        points = curve(probabilities[mask], np.array(right, dtype=bool)[mask], p.answerable, CURVE_THRESHOLDS)
        curves[lang] = {str(q.threshold): {"precision": round(q.precision, 4), "coverage": round(q.coverage, 4),
                                           "answers": q.answers} for q in points}
    model.info = {
        "fitted_on": {
            "cases": len(usable),
            "decision_cases": sum(o.case.source == "decision_cases" for o in usable),
            "extra": sorted({o.case.source for o in usable} - {"decision_cases"}),
        },
        "C": c,
        "target_precision": target,
        "margin": margin,
        "cross_validated": figures,
        "cross_validated_curve": curves,
        "tried": tried,
    }
    return model


def faq_labelled_cases(index: Any, cases_dir: Path | None = None) -> list[LabelledCase]:
    """The FAQ suite's single questions (tests/faq/cases) as labelled cases, fitted on only: a question is
    answered by each fact whose text, with its source line, meets all of the case's `expect` regexes and none
    of its `not` ones; a case that expects "I don't know" (out of scope, or no fact meets it) expects none.
    The staff's suite thus teaches the model what a typical stakeholder question looks like."""
    import re

    from bot.faq.cases import DEFAULT_CASES
    from bot.faq.cases import load_cases as load_faq_cases

    cases: list[LabelledCase] = []
    source_line = {"en": "Source:", "fi": "Lähde:"}
    for case in load_faq_cases(cases_dir or DEFAULT_CASES):
        if len(case.turns) != 1 or case.known_miss:
            continue
        expect = [re.compile(p, re.IGNORECASE) for p in case.expect]
        forbid = [re.compile(p, re.IGNORECASE) for p in case.forbid]
        answering = frozenset(
            fact.id for fact in index.facts.values()
            if (text := f"{fact.text.get(case.language) or fact.text['en']}\n\n{source_line[case.language]}")
            and all(p.search(text) for p in expect) and not any(p.search(text) for p in forbid)
        )
        if case.topic in ("smalltalk", "handoff"):
            continue
        label = None if case.topic == "out_of_scope" or not answering else answering
        cases.append(LabelledCase(case.question, case.language, label, case.intent, None, "faq_cases"))
    return cases
