"""Fits and measures the calibrated answer/decline decision (bot/knowledge/calibration.py).

    .venv-actions/bin/python bench/decision_calibrate.py          # measure knowledge/decision_model.json
    .venv-actions/bin/python bench/decision_calibrate.py --fit    # refit it first, then measure

Every labelled question of tests/data/decision_cases.yml goes through retrieval with the real index and
embedder (the case's intent at confidence 0.9; after `after:` the topic of that fact is the context). The
questions are split by a hash of their text: 70% fit, 30% held out. With --fit, a logistic regression is
fitted on the fit part (plus the questions of tests/data/retrieval_cases.yml, fit only), and per language
the threshold is the lowest whose cross-validated answers on the fit part are at least target + margin
correct. Always printed, per language, on the HELD-OUT part: precision (correct answers / answers given)
and coverage (correct answers / answerable questions) of the hand-set rules (before) and of the model
(after), the counts behind them, the model's wrong answers, and the curve threshold -> precision, coverage.
A correct answer is an answer with a fact the case expects; any answer to a `none` case is wrong.

The fact classifier (bot/knowledge/fact_classifier.py) is fitted here too, on the facts' keys, the training
questions of knowledge/fact_questions.yml and the fit part of the labelled sets (tests/data/stakeholder_questions.yml's
fit part included). Its probabilities are signals of the decision model, so the model is fitted on out-of-fold
probabilities (each fit-part question classified by a classifier that never saw it); the held-out parts are
classified by the classifier fitted on everything else and written to knowledge/fact_classifier.json.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.knowledge.calibration import (
    LANGUAGES,
    STAKEHOLDER_SOURCE,
    DecisionModel,
    LabelledCase,
    Outcome,
    Point,
    calibrate,
    curve,
    decide_cases,
    faq_labelled_cases,
    load_cases,
    load_labelled,
    split,
    summary,
)
from bot.knowledge.fact_classifier import NONE, FactClassifier
from bot.knowledge.fact_classifier import fit as fit_classifier
from bot.knowledge.retrieval import Retriever
from bot.knowledge.service import DECISION_MODEL_FILE, FACT_CLASSIFIER_FILE, load_fact_classifier, retrieval_code_hash
from bot.settings import PROJECT_ROOT, get_settings

CASES = PROJECT_ROOT / "tests" / "data" / "decision_cases.yml"
EXTRA_CASES = PROJECT_ROOT / "tests" / "data" / "retrieval_cases.yml"
STAKEHOLDER_CASES = PROJECT_ROOT / "tests" / "data" / "stakeholder_questions.yml"
TRAINING_QUESTIONS = "fact_questions.yml"
FOLDS = 5


def training_rows(index: object, knowledge_dir: Path) -> list[tuple[str, str]]:
    """(question, label) pairs the classifier always learns from: every key of every fact, and the training
    questions written for it (the first fact a question expects is its label)."""
    rows = [(k, f.id) for f in index.facts.values() for ks in f.keys.values() for k in ks]  # type: ignore[attr-defined]
    path = knowledge_dir / TRAINING_QUESTIONS
    if path.is_file():
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            expect = raw["expect"]
            rows.append((raw["q"], NONE if expect == "none" else expect[0]))
    return rows


def case_label(case: LabelledCase) -> str | None:
    """The class a case teaches: `none`, its first listed fact, or its only fact. A case whose facts came
    unordered (the FAQ suite's, matched by pattern: a date in the source line matches every fact) teaches none."""
    if case.expect is None:
        return NONE
    if case.first in case.expect:
        return case.first
    return next(iter(case.expect)) if len(case.expect) == 1 else None


def classifier_for(
    retriever: Retriever, base: Sequence[tuple[str, str]], cases: Sequence[LabelledCase], fitted_on: dict[str, str]
) -> FactClassifier:
    """Fitted on the base rows and the cases; a follow-up (`after:`) is left out: alone it names no fact."""
    rows = [*base, *((c.q, label) for c in cases if not c.after and (label := case_label(c)) is not None)]
    texts = [retriever.classifier_text(q) for q, _ in rows]
    return fit_classifier(retriever.embedder.queries(texts), [label for _, label in rows], fitted_on)


def out_of_fold(
    index: object, embedder: object, base: Sequence[tuple[str, str]], fit_cases: Sequence[LabelledCase],
    fitted_on: dict[str, str],
) -> list[Outcome]:
    """Each fit-part case decided with a classifier fitted without it (FOLDS folds by a hash of the question)."""
    rules = Retriever(index, embedder)  # type: ignore[arg-type]
    fold_of = [int(hashlib.sha256(c.q.encode()).hexdigest()[:8], 16) % FOLDS for c in fit_cases]
    outcomes: dict[int, Outcome] = {}
    for fold in range(FOLDS):
        inside = [c for c, f in zip(fit_cases, fold_of, strict=True) if f != fold]
        classifier = classifier_for(rules, base, inside, fitted_on)
        retriever = Retriever(index, embedder, classifier=classifier)  # type: ignore[arg-type]
        positions = [i for i, f in enumerate(fold_of) if f == fold]
        for i, outcome in zip(positions, decide_cases(retriever, [fit_cases[i] for i in positions]), strict=True):
            outcomes[i] = outcome
        print(f"  fold {fold + 1}/{FOLDS}: classifier fitted on {len(base) + len(inside)} questions")
    return [outcomes[i] for i in range(len(fit_cases))]


def fmt(p: Point) -> str:
    return (f"precision {p.precision:6.1%} ({p.correct}/{p.answers})  "
            f"coverage {p.coverage:6.1%} ({p.correct}/{p.answerable})  wrong {p.wrong}")


def report(rules: list[Outcome], after: list[Outcome], model: DecisionModel | None) -> dict[str, dict[str, object]]:
    figures: dict[str, dict[str, object]] = {}
    for lang in LANGUAGES:
        before = [o for o in rules if o.case.lang == lang]
        print(f"\n=== {lang}: held-out {len(before)} questions, {sum(o.case.expect is not None for o in before)} "
              "answerable")
        b = summary(before)
        print(f"  before (rules): {fmt(b)}")
        figures[lang] = {"before": b}
        if model is None:
            continue
        now = [o for o in after if o.case.lang == lang]
        a = summary(now)
        print(f"  after (model):  {fmt(a)}   threshold {model.threshold(lang):.3f}")
        by_rule = [o for o in now if not o.signals and o.answered]
        if by_rule:
            print(f"    of which {len(by_rule)} answered by a rule the model is not asked about "
                  f"({sum(o.wrong for o in by_rule)} wrong)")
        figures[lang]["after"] = a
        for o in now:
            if o.wrong:
                expect = sorted(o.case.expect) if o.case.expect else "none"
                how = f"p={o.confidence:.3f}" if o.confidence is not None else "decided by a rule, not the model"
                print(f"    WRONG {o.case.q!r} -> {o.best} ({how}; expect {expect})")
        # The curve: the model's probabilities of the held-out questions at thresholds around the chosen one.
        # A decision made by a rule without signals stays as the rule made it, at every threshold.
        probabilities = np.array([
            model.probability(o.signals) if o.signals else (np.inf if o.answered else -np.inf) for o in now
        ])
        right = np.array([o.right_fact for o in now])
        answerable = sum(o.case.expect is not None for o in now)
        grid = sorted({round(float(t), 2) for t in np.linspace(0.3, 0.95, 10)} | {round(model.threshold(lang), 3)})
        print("  curve (threshold: precision, coverage, answers):")
        for p in curve(probabilities, right, answerable, grid):
            mark = "  <- chosen" if abs(p.threshold - round(model.threshold(lang), 3)) < 1e-9 else ""
            print(f"    {p.threshold:5.3f}: {p.precision:6.1%} {p.coverage:6.1%}  {p.answers:3d}{mark}")
    return figures


def deployable(model: DecisionModel, min_coverage: float) -> list[str]:
    """Why the model should not decide for the bot (empty when it may): a model that keeps the precision only
    by declining nearly everything would turn the bot into an "I don't know" machine."""
    reasons = []
    for lang in LANGUAGES:
        figures = model.info["cross_validated"][lang]  # type: ignore[index]
        if figures["coverage"] < min_coverage:
            reasons.append(f"{lang}: cross-validated coverage {figures['coverage']:.1%} at the target precision is "
                           f"below {min_coverage:.0%}")
    return reasons


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="refit the model (written when it is deployable)")
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--no-extra", action="store_true",
                        help="fit without tests/data/retrieval_cases.yml and the FAQ suite's questions")
    parser.add_argument("--target", type=float, default=0.94,
                        help="precision the thresholds must keep (at 0.98 the cross-validated thresholds send over "
                        "half of the answerable Finnish questions to a question back)")
    parser.add_argument("--margin", type=float, default=0.01, help="added to the target on the fit part")
    parser.add_argument("--min-coverage", type=float, default=0.4,
                        help="with --fit: the cross-validated coverage each language needs for the model to be written")
    parser.add_argument("--force", action="store_true", help="with --fit: write the model even below --min-coverage")
    parser.add_argument("--model", type=Path, default=None, help=f"default: knowledge/{DECISION_MODEL_FILE}")
    args = parser.parse_args()
    settings = get_settings()
    path = args.model or settings.knowledge_dir / DECISION_MODEL_FILE
    shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path

    from bot.knowledge.embedder import Embedder
    from bot.knowledge.index import load_index

    index = load_index(settings.knowledge_dir, settings.index_dir, settings.embedding_model)
    embedder = Embedder(settings.embedding_model, threads=settings.torch_threads)
    rules = Retriever(index, embedder)

    extra = [] if args.no_extra or not EXTRA_CASES.is_file() else [EXTRA_CASES]
    labelled = load_labelled(args.cases, extra)
    if not args.no_extra:
        labelled += faq_labelled_cases(index)
        labelled += load_cases(STAKEHOLDER_CASES, source=STAKEHOLDER_SOURCE)
    outcomes = decide_cases(rules, labelled)
    fit_part, held = split(outcomes)
    print(f"{len(outcomes)} questions: fit {len(fit_part)}, held out {len(held)}")

    model: DecisionModel | None
    classifier: FactClassifier | None = None
    classifier_path = path.parent / FACT_CLASSIFIER_FILE
    if args.fit:
        print("fitting the fact classifier (out of fold for the decision model):")
        fitted_on = {"index_content_hash": str(index.manifest.get("content_hash")),
                     "embedding_model": str(index.manifest.get("embedding_model", ""))}
        base = training_rows(index, settings.knowledge_dir)
        fit_cases = [o.case for o in fit_part]
        fit_part = out_of_fold(index, embedder, base, fit_cases, fitted_on)
        classifier = classifier_for(rules, base, fit_cases, fitted_on)
        print(f"  final classifier: {len(base) + len(fit_cases)} questions, {len(classifier.classes)} classes")
        print("fitting the decision model:")
        model = calibrate(fit_part, args.target, args.margin)
        for c, figures in model.info["tried"].items():  # type: ignore[union-attr]
            print(f"  C={c:<5} log loss {figures['log_loss']:.4f}; cross-validated coverage at precision >= "
                  f"{args.target + args.margin:.0%}: "
                  + ", ".join(f"{lang} {figures[lang]['coverage']:5.1%} (t={figures[lang]['threshold']:.3f})"
                              for lang in LANGUAGES))
        print(f"  chosen C={model.info['C']} (lowest log loss); its cross-validated curve on the fit part:")
        for lang in LANGUAGES:
            print(f"    {lang}: " + "  ".join(f"{t}: {v['precision']:.1%}/{v['coverage']:.1%}"
                                            for t, v in model.info["cross_validated_curve"][lang].items()))
        # What the model was fitted against: another index or retrieval code gives other signals.
        model.info["index_content_hash"] = index.manifest.get("content_hash")
        model.info["retrieval_code"] = retrieval_code_hash()
        print(f"fitted: C={model.info['C']}, thresholds {model.thresholds}")
        refused = deployable(model, args.min_coverage)
        if refused and not args.force:
            print(f"NOT written to {shown} (the bot keeps its current decision): " + "; ".join(refused)
                  + ". Measured below as fitted; --force writes it anyway.")
        else:
            classifier.save(classifier_path)
            model.info["fact_classifier_sha256"] = hashlib.sha256(classifier_path.read_bytes()).hexdigest()
            model.save(path)
            print(f"wrote {shown} and {classifier_path.name}")
    else:
        model = DecisionModel.load(path) if path.is_file() else None
        classifier = load_fact_classifier(path.parent, model)
        if model is None:
            print(f"no model at {shown}: only the rules are measured (run with --fit)")
    after = decide_cases(Retriever(index, embedder, model=model, classifier=classifier),
                         [o.case for o in held]) if model else []
    report(held, after, model)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
