"""How the bot decides on the held-out stakeholder questions (tests/data/stakeholder_questions.yml, issue 23).

    .venv-actions/bin/python bench/decision_bench.py            # the held-out part, per language
    .venv-actions/bin/python bench/decision_bench.py --part all --show wrong,uncertain

Each question goes the way a message goes through the bot: the trained Rasa NLU (models/ris3.tar.gz, parsed
under .venv-rasa by bench/nlu_parse.py, cached under var/bench/) gives the intent; an intent the rules route to
action_answer goes through bot.knowledge.conversation.answer_turn with the real index, embedder and decision
model (after `after:` that fact is the conversation's last answer); a request for a person is a handoff. What
the reply is, is then counted per language:

- precision: outright answers with a fact the case expects / all outright answers (near misses included);
- coverage: outright answers with an expected fact / answerable questions;
- uncertain: answerable questions given a fact said to be uncertain ("I'm not sure I understood…");
- asked back: answerable questions answered with "Do you mean …?" (and of those, with a right button);
- near misses declined: `none` questions given no fact ("I don't know" with the contact, or the handoff).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge.calibration import LANGUAGES, stakeholder_held_out  # noqa: E402
from bot.knowledge.conversation import Turn, answer_turn  # noqa: E402
from bot.knowledge.followup import ConversationState  # noqa: E402
from bot.knowledge.retrieval import Retriever  # noqa: E402

CASES = ROOT / "tests" / "data" / "stakeholder_questions.yml"
NLU_MODEL = ROOT / "models" / "ris3.tar.gz"
CACHE_DIR = ROOT / "var" / "bench"
# The intents data/rules.yml sends to action_answer; the others never reach retrieval.
ANSWERED_BY_RETRIEVAL = {
    "ask_ris3", "ask_priorities", "ask_timeline", "ask_project", "ask_contact", "ask_brochure", "ask_publisher",
    "out_of_scope", "follow_up", "nlu_fallback",
}
HANDOFF_INTENTS = {"ask_human", "handoff_topic", "not_helpful"}


@dataclass
class Result:
    q: str
    lang: str
    expect: frozenset[str] | None
    intent: str
    # answer | uncertain | ask_back | decline | handoff | other
    outcome: str
    fact: str | None = None
    options: tuple[str, ...] = ()
    detail: str = ""

    @property
    def answerable(self) -> bool:
        return self.expect is not None

    @property
    def correct(self) -> bool:
        return self.outcome == "answer" and self.expect is not None and self.fact in self.expect


def load(path: Path) -> list[dict]:
    cases = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    for case in cases:
        if set(case) - {"q", "lang", "expect", "after"} or case.get("lang") not in LANGUAGES:
            raise SystemExit(f"{path}: malformed case {case!r}")
    return cases


def nlu_parses(messages: list[str], model: Path) -> dict[str, dict]:
    """The NLU's parse of each message, from the cache when the model and the messages are the same."""
    key = hashlib.sha256(model.read_bytes() + json.dumps(sorted(messages)).encode()).hexdigest()[:16]
    cache = CACHE_DIR / f"nlu-{key}.json"
    if cache.is_file():
        return json.loads(cache.read_text(encoding="utf-8"))
    python = Path(os.environ.get("RIS3_RASA_VENV", ROOT / ".venv-rasa")) / "bin" / "python"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "LOG_LEVEL": "ERROR"}
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [str(python), str(ROOT / "bench" / "nlu_parse.py"), str(cache), str(model)], input=json.dumps(messages),
        capture_output=True, text=True, env=env, check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the NLU parse failed:\n{done.stderr[-2000:]}")
    return json.loads(cache.read_text(encoding="utf-8"))


def routed_intent(parse: dict) -> tuple[str, float]:
    """As actions/actions.py reads it: under a fallback, the best real intent the NLU was unsure about."""
    ranking = [r for r in parse.get("ranking") or [] if r[0] != "nlu_fallback"]
    if parse["intent"] == "nlu_fallback" and ranking:
        return ranking[0][0], float(ranking[0][1])
    return parse["intent"], float(parse["confidence"])


def outcome_of(turn: Turn) -> tuple[str, str | None, tuple[str, ...]]:
    if turn.kind in ("choose", "what_else"):
        return "ask_back", None, turn.options
    decision = turn.decision
    if decision is None or decision.best is None:
        return "decline", None, ()
    if decision.answer:
        return "answer", decision.best.item, ()
    return "decline", None, ()


def run(retriever: Retriever, cases: list[dict], parses: dict[str, dict]) -> list[Result]:
    results = []
    for case in cases:
        expect = None if case["expect"] == "none" else frozenset(case["expect"])
        parse = parses[case["q"]]
        if parse["intent"] in HANDOFF_INTENTS:
            results.append(Result(case["q"], case["lang"], expect, parse["intent"], "handoff"))
            continue
        if parse["intent"] not in ANSWERED_BY_RETRIEVAL:
            results.append(Result(case["q"], case["lang"], expect, parse["intent"], "other"))
            continue
        intent, confidence = routed_intent(parse)
        state = ConversationState(last_fact=case.get("after"))
        turn = answer_turn(retriever, case["q"], state, case["lang"], intent, confidence)
        outcome, fact, options = outcome_of(turn)
        detail = turn.decision.reason if turn.decision else turn.how
        results.append(Result(case["q"], case["lang"], expect, f"{intent}({confidence:.2f})", outcome, fact, options,
                              detail))
    return results


def pct(n: int, d: int) -> str:
    return f"{n / d:6.1%} ({n}/{d})" if d else "   n/a (0/0)"


def report(results: list[Result], show: set[str]) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    for lang in LANGUAGES:
        rs = [r for r in results if r.lang == lang]
        answerable = [r for r in rs if r.answerable]
        misses = [r for r in rs if not r.answerable]
        answers = [r for r in rs if r.outcome == "answer"]
        correct = [r for r in answers if r.correct]
        uncertain = [r for r in answerable if r.outcome == "uncertain"]
        asked = [r for r in answerable if r.outcome == "ask_back"]
        asked_right = [r for r in asked if r.expect and set(r.options) & r.expect]
        declined = [r for r in misses if r.outcome in ("decline", "handoff", "other")]
        print(f"\n=== {lang}: {len(rs)} questions, {len(answerable)} answerable, {len(misses)} near misses")
        print(f"  precision of outright answers  {pct(len(correct), len(answers))}")
        print(f"  coverage of answerable         {pct(len(correct), len(answerable))}")
        print(f"  answerable said uncertain      {pct(len(uncertain), len(answerable))}")
        print(f"  answerable asked back          {pct(len(asked), len(answerable))}, "
              f"a right fact among the buttons: {len(asked_right)}")
        print(f"  near misses declined           {pct(len(declined), len(misses))}")
        kinds = Counter(r.outcome for r in rs)
        print("  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
        figures[lang] = {
            "precision": len(correct) / len(answers) if answers else 1.0,
            "coverage": len(correct) / len(answerable) if answerable else 0.0,
            "uncertain": len(uncertain) / len(answerable) if answerable else 0.0,
            "asked_back": len(asked) / len(answerable) if answerable else 0.0,
            "near_misses_declined": len(declined) / len(misses) if misses else 1.0,
        }
        for r in rs:
            wrong = r.outcome == "answer" and not r.correct
            kind = "wrong" if wrong else r.outcome if r.answerable or r.outcome != "answer" else "wrong"
            if kind in show or (r.answerable and not r.correct and "missed" in show):
                expect = sorted(r.expect) if r.expect else "none"
                got = r.fact or (list(r.options) if r.options else "")
                print(f"    {kind.upper():9} {r.q!r} -> {got} [{r.intent}; expect {expect}] {r.detail}")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--part", choices=("held-out", "fit", "all"), default="held-out")
    parser.add_argument("--show", default="wrong",
                        help="comma-separated: wrong, uncertain, ask_back, decline, missed, handoff, other")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    cases = load(args.cases)
    if args.part != "all":
        cases = [c for c in cases if stakeholder_held_out(c["q"]) == (args.part == "held-out")]
    parses = nlu_parses([c["q"] for c in cases], NLU_MODEL)

    from bot.knowledge.service import _load

    service = _load()
    model = service.retriever.model
    print(f"{len(cases)} questions ({args.part}); decision model: "
          f"{'thresholds ' + str(model.thresholds) if model else 'none (hand-set rules)'}")
    results = run(service.retriever, cases, parses)
    figures = report(results, {s.strip() for s in args.show.split(",") if s.strip()})
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
