"""The calibrated answer/decline model (bot/knowledge/calibration.py): its arithmetic, its file, the labelled
set it is fitted on, and, with the real index, the held-out figures that bench/decision_calibrate.py reports."""

from __future__ import annotations

import itertools
import logging
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from bot.knowledge.calibration import (
    LANGUAGES,
    DecisionModel,
    LabelledCase,
    Outcome,
    calibrate,
    choose_threshold,
    decide_cases,
    fit,
    load_labelled,
    split,
    summary,
)
from bot.knowledge.retrieval import INTENT_TOPICS, SIGNALS, Retriever
from bot.knowledge.service import DECISION_MODEL_FILE, load_decision_model, load_fact_classifier

REPO = Path(__file__).resolve().parents[2]
CASES_FILE = REPO / "tests" / "data" / "decision_cases.yml"
EXTRA_FILES = [REPO / "tests" / "data" / "retrieval_cases.yml"]
# Coverage of the held-out questions (correct answers / answerable ones) measured with the model that
# `bench/decision_calibrate.py --fit` fits today (en 11.5%, fi 17.9%, both mostly membership answers made
# by rules), minus a margin of 5 points for small changes of retrieval. Raise them when the model improves.
COVERAGE_FLOOR = {"en": 0.065, "fi": 0.129}
# The deployed model decides with the fact classifier fitted with it (knowledge/fact_classifier.json), at the
# thresholds `bench/decision_calibrate.py --fit` chose for 95% cross-validated precision. Measured here, on the
# decision_cases held-out part with each case's intent (2026-12-08): fi precision 89.2% (33/37), coverage 84.6%;
# en above its floors. The floors are under those by a margin for small changes of retrieval; raise them when the
# decision improves (docs/calibration.md has the figures of the stakeholder set).
DEPLOYED_FLOOR = {"en": (0.92, 0.82), "fi": (0.87, 0.78)}
# Held-out answers made by a retrieval rule the model is not asked about, known to be wrong (see
# docs/calibration.md); any other wrong one fails test_held_out_rule_answers_are_right.
KNOWN_RULE_MISSES = {
    "is financial support for research and innovation important in the strategy":
        "the membership rule reads 'is X important in the strategy' as 'is X a priority' and answers that it is "
        "not named; about_aims says RDI funding is of key importance",
}


def _signals(**values: float) -> dict[str, float]:
    signals = dict.fromkeys(SIGNALS, 0.0)
    signals.update(values)
    return signals


def _synthetic_model() -> DecisionModel:
    """A model fitted on made-up decisions where a higher score makes a right answer likelier."""
    rng = np.random.default_rng(7)
    rows, right = [], []
    for _ in range(400):
        score = float(rng.uniform(0.75, 1.05))
        lexical = float(rng.uniform(0, 1))
        rows.append(_signals(score=score, threshold_gap=score - 0.86, lexical=lexical,
                             finnish=float(rng.integers(0, 2)), intent_confidence=0.9))
        right.append(bool(score + 0.05 * lexical + rng.normal(0, 0.04) > 0.9))
    model = fit(rows, right, list(SIGNALS), c=1.0)
    model.thresholds = {"en": 0.6, "fi": 0.8}
    return model


# --- the model's arithmetic and file -------------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    model = _synthetic_model()
    model.info = {"C": 1.0, "note": "ääkköset stay"}
    path = tmp_path / DECISION_MODEL_FILE
    model.save(path)
    loaded = DecisionModel.load(path)
    assert loaded.to_dict() == model.to_dict()
    for score in (0.8, 0.9, 1.0):
        signals = _signals(score=score, threshold_gap=score - 0.86, lexical=0.5)
        assert loaded.probability(signals) == pytest.approx(model.probability(signals), abs=1e-12)


def test_probability_rises_with_score() -> None:
    model = _synthetic_model()
    scores = np.linspace(0.7, 1.1, 41)
    probabilities = [model.probability(_signals(score=s, threshold_gap=s - 0.86, lexical=0.5)) for s in scores]
    assert all(b > a for a, b in itertools.pairwise(probabilities))
    assert probabilities[0] < 0.2 < 0.8 < probabilities[-1]


def test_thresholds_per_language() -> None:
    model = _synthetic_model()
    # A decision between the two thresholds: English answers it, Finnish does not.
    scores = np.linspace(0.8, 1.0, 201)
    between = next(s for s in scores if 0.65 < model.probability(_signals(score=s, threshold_gap=s - 0.86)) < 0.75)
    signals = _signals(score=between, threshold_gap=between - 0.86)
    assert model.accepts(signals, "en")
    assert not model.accepts(signals, "fi")
    # A language without a threshold of its own gets the strictest one.
    assert model.threshold("sv") == 0.8
    assert not model.accepts(signals, "sv")


def test_missing_signal_counts_as_its_mean() -> None:
    model = _synthetic_model()
    full = {name: model.mean[i] for i, name in enumerate(model.features)}
    partial = {k: v for k, v in full.items() if k != "lexical"}
    assert model.probability(partial) == pytest.approx(model.probability(full))


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    data = _synthetic_model().to_dict()
    data["format"] = 99
    with pytest.raises(ValueError, match="unsupported format"):
        DecisionModel.from_dict(data)
    data = _synthetic_model().to_dict()
    data["coef"] = data["coef"][:-1]
    with pytest.raises(ValueError, match="differ in length"):
        DecisionModel.from_dict(data)


def test_run_time_import_needs_no_scikit_learn() -> None:
    # The action server imports the model; fitting is the only place scikit-learn may be loaded.
    code = "import sys, bot.knowledge.calibration; sys.exit('sklearn' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode == 0


def test_service_loads_the_model_only_when_present(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert load_decision_model(tmp_path) is None
    _synthetic_model().save(tmp_path / DECISION_MODEL_FILE)
    loaded = load_decision_model(tmp_path)
    assert loaded is not None and loaded.thresholds == {"en": 0.6, "fi": 0.8}
    (tmp_path / DECISION_MODEL_FILE).write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        assert load_decision_model(tmp_path) is None
    assert "cannot be read" in caplog.text


# --- choosing a threshold ------------------------------------------------------------------------------


def test_threshold_is_the_lowest_that_keeps_the_precision() -> None:
    # 30 right answers above 0.7, then a wrong one at 0.65, then more right and wrong ones.
    probabilities = [0.99 - 0.01 * i for i in range(30)] + [0.65] + [0.6, 0.55, 0.5] + [0.45, 0.4]
    correct = [True] * 30 + [False] + [True, True, True] + [False, False]
    point = choose_threshold(probabilities, correct, answerable=40, target=0.98, margin=0.0)
    # 33 of 34 down to 0.5 is 97.1%: below the target, so the cut stays above the wrong answer.
    assert point.threshold == pytest.approx(0.70)
    assert (point.answers, point.correct) == (30, 30)
    assert point.coverage == pytest.approx(30 / 40)
    looser = choose_threshold(probabilities, correct, answerable=40, target=0.95, margin=0.0)
    assert looser.threshold == pytest.approx(0.5) and looser.wrong == 1


def test_threshold_declines_everything_when_the_precision_is_out_of_reach() -> None:
    point = choose_threshold([0.9, 0.8, 0.7], [False, True, True], answerable=3, target=0.98, margin=0.01,
                             min_answers=1)
    assert point.answers == 0 and point.threshold > 0.9


def test_ties_are_answered_together() -> None:
    point = choose_threshold([0.9] * 20 + [0.8] * 2, [True] * 20 + [True, False], answerable=22, target=0.98,
                             margin=0.0)
    assert point.threshold == 0.9 and point.answers == 20


# --- the labelled set ----------------------------------------------------------------------------------


def _facts() -> dict[str, Any]:
    return {f["id"]: f for f in yaml.safe_load((REPO / "knowledge" / "facts.yml").read_text(encoding="utf-8"))["facts"]}


def test_cases_file_is_well_formed() -> None:
    raw = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
    facts = _facts()
    intents = set(INTENT_TOPICS) | {"out_of_scope"}
    for case in raw:
        assert set(case) <= {"q", "lang", "expect", "intent", "after"} and {"q", "lang", "expect"} <= set(case), case
        assert case["lang"] in LANGUAGES, case
        assert case["expect"] == "none" or (isinstance(case["expect"], list) and case["expect"]), case
        if case["expect"] != "none":
            assert set(case["expect"]) <= set(facts), case
        assert case.get("after") is None or case["after"] in facts, case
        assert case.get("intent") is None or case["intent"] in intents, case
    questions = [" ".join(c["q"].casefold().split()) for c in raw]
    assert len(questions) == len(set(questions)), [q for q, n in Counter(questions).items() if n > 1]
    # Written apart from the keys retrieval matches on: a key asked back proves nothing.
    keys = {" ".join(k.casefold().split()) for f in facts.values() for ks in f["keys"].values() for k in ks}
    assert not set(questions) & keys


def test_cases_cover_both_languages_and_all_facts() -> None:
    cases = load_labelled(CASES_FILE)
    for lang in LANGUAGES:
        mine = [c for c in cases if c.lang == lang]
        assert len(mine) >= 220, lang
        answerable = sum(c.expect is not None for c in mine) / len(mine)
        assert 0.55 <= answerable <= 0.60, (lang, answerable)
        after = sum(c.after is not None for c in mine) / len(mine)
        assert 0.12 <= after <= 0.18, (lang, after)
        expected = {f for c in mine if c.expect for f in c.expect}
        assert set(_facts()) <= expected, (lang, set(_facts()) - expected)


# --- with the real index -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rules_retriever() -> Retriever:
    from bot.knowledge.index import IndexNotReady
    from bot.knowledge.service import check_index, get_service

    try:
        check_index()
        service = get_service()
    except (IndexNotReady, OSError) as exc:
        pytest.skip(f"no knowledge index or model: {exc}")
    # The hand-set rules: the signals are the same whichever model decides.
    return Retriever(service.index, service.retriever.embedder)


@pytest.fixture(scope="module")
def outcomes(rules_retriever: Retriever) -> list[Outcome]:
    return decide_cases(rules_retriever, load_labelled(CASES_FILE, EXTRA_FILES))


@pytest.fixture(scope="module")
def fitted(outcomes: list[Outcome]) -> DecisionModel:
    """The model as `bench/decision_calibrate.py --fit` fits it."""
    return calibrate(split(outcomes)[0])


def _held_out_cases(outcomes: list[Outcome]) -> list[LabelledCase]:
    return [o.case for o in split(outcomes)[1]]


def _explain(outcomes: list[Outcome]) -> str:
    return "; ".join(f"{o.case.q!r} -> {o.best} (p={o.confidence})" for o in outcomes)


def test_fitted_model_rises_with_score(fitted: DecisionModel, outcomes: list[Outcome]) -> None:
    for o in split(outcomes)[1]:
        if not o.signals:
            continue
        higher = dict(o.signals, score=o.signals["score"] + 0.05, threshold_gap=o.signals["threshold_gap"] + 0.05)
        assert fitted.probability(higher) > fitted.probability(o.signals), o.case.q


def test_fitted_thresholds_per_language(fitted: DecisionModel) -> None:
    assert set(fitted.thresholds) == set(LANGUAGES)
    for lang in LANGUAGES:
        figures = fitted.info["cross_validated"][lang]
        assert figures["precision"] >= 0.99, (lang, figures)


def _held_out_decisions(model: DecisionModel, rules_retriever: Retriever, outcomes: list[Outcome]) -> list[Outcome]:
    with_model = Retriever(rules_retriever.index, rules_retriever.embedder, model=model)
    return decide_cases(with_model, _held_out_cases(outcomes))


@pytest.fixture(scope="module")
def fitted_held_out(fitted: DecisionModel, rules_retriever: Retriever, outcomes: list[Outcome]) -> list[Outcome]:
    return _held_out_decisions(fitted, rules_retriever, outcomes)


def _check_held_out(decided: list[Outcome], lang: str) -> None:
    after = [o for o in decided if o.case.lang == lang]
    by_model = [o for o in after if o.signals]
    wrong = [o for o in by_model if o.wrong]
    assert summary(by_model).precision >= 0.98, f"{lang}: the model's wrong answers: {_explain(wrong)}"
    overall = summary(after)
    assert overall.coverage >= COVERAGE_FLOOR[lang], f"{lang}: coverage {overall.coverage:.1%} ({overall})"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_held_out_precision_and_coverage(fitted_held_out: list[Outcome], lang: str) -> None:
    _check_held_out(fitted_held_out, lang)


def test_deployed_model_held_out(rules_retriever: Retriever, outcomes: list[Outcome]) -> None:
    deployed = load_decision_model(REPO / "knowledge")
    if deployed is None:
        pytest.skip(f"no knowledge/{DECISION_MODEL_FILE}: the hand-set rules decide (docs/calibration.md)")
    classifier = load_fact_classifier(REPO / "knowledge", deployed)
    assert classifier is not None, "the decision model names a fact classifier that is missing or not its own"
    with_model = Retriever(rules_retriever.index, rules_retriever.embedder, model=deployed, classifier=classifier)
    decided = decide_cases(with_model, _held_out_cases(outcomes))
    for lang in LANGUAGES:
        point = summary([o for o in decided if o.case.lang == lang])
        wrong = [o for o in decided if o.case.lang == lang and o.wrong]
        precision, coverage = DEPLOYED_FLOOR[lang]
        assert point.precision >= precision, f"{lang}: {point}; wrong: {_explain(wrong)}"
        assert point.coverage >= coverage, f"{lang}: {point}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_held_out_rule_answers_are_right(outcomes: list[Outcome], lang: str) -> None:
    """Answers made by a rule the model is never asked about (a membership question) count in the precision
    too; the model cannot take them back."""
    wrong = [o for o in split(outcomes)[1] if o.case.lang == lang and o.wrong and not o.signals]
    unknown = [o for o in wrong if o.case.q not in KNOWN_RULE_MISSES]
    assert not unknown, f"{lang}: wrong answers by a rule: {_explain(unknown)}"
