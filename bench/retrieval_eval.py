"""Prints how retrieval decides on the labelled questions in tests/data/retrieval_cases.yml.

    .venv-actions/bin/python bench/retrieval_eval.py [--verbose]

For each question: the decision, the best candidates with their dense, lexical and final scores.
At the end: the share decided correctly, and the score distributions of right answers and of
questions that should get "I don't know", which is what the thresholds are calibrated on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.knowledge.embedder import Embedder
from bot.knowledge.index import load_index
from bot.knowledge.retrieval import Retriever
from bot.settings import PROJECT_ROOT, get_settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=PROJECT_ROOT / "tests" / "data" / "retrieval_cases.yml")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--question", "-q", action="append", help="explain these questions instead of the cases")
    parser.add_argument("--intent", help="with --question: the NLU intent to assume")
    args = parser.parse_args()
    settings = get_settings()
    index = load_index(settings.knowledge_dir, settings.index_dir, settings.embedding_model)
    retriever = Retriever(index, Embedder(settings.embedding_model))
    cases = yaml.safe_load(args.cases.read_text())
    if args.question:
        args.verbose = True
        cases = [{"q": q, "intent": args.intent, "expect": "?"} for q in args.question]
    correct = 0
    answered_scores: list[float] = []
    unanswerable_scores: list[float] = []
    for case in cases:
        decision = retriever.decide(case["q"], case.get("intent"), 0.9 if case.get("intent") else 0.0)
        if case["expect"] == "?":
            print(f"{case['q']!r} -> {'answer' if decision.answer else 'dont_know'} ({decision.reason}) "
                  f"unknown={decision.unknown_words} not_named={decision.not_named}")
            for c in decision.ranked[:5]:
                print(f"      {c.item:28} dense={c.dense:.3f} lex={c.lexical:.2f} score={c.score:.3f}")
            continue
        expect = case["expect"]
        best = decision.best
        if expect == "none":
            ok = not decision.answer
            if best:
                unanswerable_scores.append(best.score)
        else:
            ok = decision.answer and best is not None and best.item in expect
            if best:
                answered_scores.append(best.score)
        correct += ok
        if args.verbose or not ok:
            print(f"{'ok ' if ok else 'BAD'} {case['q']!r} -> {'answer' if decision.answer else 'dont_know'}"
                  f" ({decision.reason}) expect={expect} unknown={decision.unknown_words}")
            for c in decision.ranked[:3]:
                print(f"      {c.item:28} dense={c.dense:.3f} lex={c.lexical:.2f} score={c.score:.3f}")
    print(f"\ncorrect: {correct}/{len(cases)} ({100 * correct / len(cases):.0f}%)")
    for label, scores in (("answerable", answered_scores), ("unanswerable", unanswerable_scores)):
        if scores:
            print(f"{label:13} best score min={min(scores):.3f} median={sorted(scores)[len(scores) // 2]:.3f} "
                  f"max={max(scores):.3f}")
    return 0 if correct == len(cases) else 1


if __name__ == "__main__":
    raise SystemExit(main())
