"""End to end over REST against the real Rasa server and action server: conversations in which a message
leans on the bot's previous reply (tests/e2e/conversations.yml): ordinals over what the bot listed,
pronouns and ellipsis, "tell me more" / "what else?", ambiguous references, language switches, yes/no
questions about a sector, time questions and the start of the handoff.

The conversations are run by the FAQ runner (bot/faq/runner.py), each as its own REST conversation; the test
prints, per language, the conversations and turns passed and every failing turn, and asserts that every core
conversation passes and that the pass rate stays above a floor."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from pathlib import Path

import pytest
import yaml

from bot.faq.cases import DEFAULT_CASES, Case, load_case_file, nlu_examples, normalise, own_questions
from bot.faq.runner import Result, run_cases
from bot.runtime import BotProcesses

ROOT = Path(__file__).resolve().parents[2]
CONVERSATIONS = Path(__file__).with_name("conversations.yml")
# The share of each language's conversations that must pass, known misses counted as not passed. Set from
# the measured rate (see the printed summary) minus a margin for the NLU's run-to-run variation.
PASS_RATE_FLOOR = 0.75
# Conversations in flight at once: the machine's two cores also run the Rasa server and the action server.
CONCURRENCY = 2

# The behaviours the core conversations must show, each as a pattern on a core conversation's questions
# or expectations: if one goes missing from conversations.yml, the core set no longer covers it.
CORE_BEHAVIOURS = {
    "ordinal 'the second one'": r"^the second one$",
    "ordinal 'the last'": r"^the last$",
    "ordinal 'toinen'": r"^toinen$",
    "ordinal 'viimeinen'": r"^viimeinen$",
    "ordinal over quick-reply buttons": r"\\\[The timeline\\\]|\\\[Aikataulu\\\]",
    "pronoun 'his number'": r"\bhis number\b",
    "pronoun 'its funding'": r"\bits funding\b",
    "ellipsis 'entä Kotkan osoite?'": r"^entä Kotkan osoite\?$",
    "ellipsis 'and in Finnish?'": r"^and in Finnish\?$",
    "'tell me more'": r"^tell me more$",
    "'kerro lisää'": r"^kerro lisää$",
    "'what else?'": r"^what else\?$",
    "'mitä muuta?'": r"^mitä muuta\?$",
    "ambiguous: 'Which one do you mean'": r"which one do you mean",
    "ambiguous: 'Mitä niistä tarkoitat'": r"Mitä niistä tarkoitat",
    "long message, question in the middle, no question mark": r"^Hi, I work for a municipality",
    "yes/no 'is my sector among…'": r"\bIs my sector among\b",
    "yes/no 'does the strategy cover ports?'": r"^does the strategy cover ports\?$",
    "yes: 'Kyllä'": r"kyllä",
    "no: 'Strategia ei mainitse'": r"ei mainitse",
    "time 'What happened in autumn 2020?'": r"^What happened in autumn 2020\?$",
    "time 'What happens during 2021?'": r"^What happens during 2021\?$",
    "time 'mitä tapahtui syksyllä 2020?'": r"^mitä tapahtui syksyllä 2020\?$",
    "handoff 'can a human being contact me…'": r"^can a human being contact me about our project idea\?$",
}


def _load() -> tuple[list[Case], set[str]]:
    cases = load_case_file(CONVERSATIONS, stem="conversation")
    raw = yaml.safe_load(CONVERSATIONS.read_text(encoding="utf-8"))
    core = {str(item["id"]) for item in raw if item.get("core")}
    return cases, core


def _core_texts(cases: Iterable[Case], core: set[str]) -> list[str]:
    return [text for c in cases if c.id in core for t in c.turns for text in (t.question, *t.expect)]


def test_the_conversations_are_well_formed() -> None:
    cases, core = _load()
    raw = yaml.safe_load(CONVERSATIONS.read_text(encoding="utf-8"))
    assert all(item.get("id") for item in raw), "every conversation needs a stable `id`"
    assert all(c.is_conversation and 2 <= len(c.turns) <= 4 for c in cases)
    per_language = {lang: [c for c in cases if c.language == lang] for lang in ("en", "fi")}
    assert len(cases) >= 64 and all(len(mine) >= 32 for mine in per_language.values())
    assert abs(len(per_language["en"]) - len(per_language["fi"])) <= 2, "half English, half Finnish"
    assert core <= {c.id for c in cases}
    assert all(any(c.id in core for c in mine) for mine in per_language.values())
    for case in cases:
        if case.known_miss is not None:
            assert str(case.known_miss).strip(), f"{case.id}: a known_miss needs a reason"
            assert case.id not in core, f"{case.id}: a core conversation cannot be a known miss"
    texts = _core_texts(cases, core)
    uncovered = [name for name, pattern in CORE_BEHAVIOURS.items()
                 if not any(re.search(pattern, text, re.IGNORECASE) for text in texts)]
    assert not uncovered, f"no core conversation shows: {uncovered}"


def test_the_conversations_are_written_apart_from_training_data_keys_and_other_questions() -> None:
    """A first question, and any later turn longer than a stock follow-up ("the second one", "kerro lisää"),
    is neither a training example, nor a fact's key, nor an end-to-end question (tests/faq/cases/e2e_*.yml)."""
    cases, _ = _load()
    facts = yaml.safe_load((ROOT / "knowledge" / "facts.yml").read_text(encoding="utf-8"))["facts"]
    keys = {normalise(k) for fact in facts for phrasings in (fact.get("keys") or {}).values() for k in phrasings}
    questions = {
        normalise(case.question) for lang in ("en", "fi") for case in load_case_file(DEFAULT_CASES / f"e2e_{lang}.yml")
    }
    taken = {"training data": nlu_examples(ROOT / "data" / "nlu"), "fact keys": keys, "e2e_*.yml": questions}
    copied = [f"{c.id}: {q!r} ({where})" for c in cases for q in own_questions(c)
              for where, known in taken.items() if normalise(q) in known]
    assert not copied, "copied questions: " + "; ".join(copied)


# A factual reply ends with its source; a hedged one opens by saying the bot is not sure.
_SOURCE = re.compile(r"\b(Source|Lähde):")
_HEDGE = re.compile(r"^(I.m not sure I understood|En ole varma, ymmärsinkö)")


def _precision_coverage(turns: list) -> str:
    """Over the turns that expect a factual answer (their expectations name the source line) and the turns
    answered with confidence: precision = passed confident answers / confident answers, coverage = passed
    confident answers / turns expecting one. Hedged answers are counted apart."""
    def confident(t: object) -> bool:
        return bool(t.sent and _SOURCE.search(t.reply) and not _HEDGE.search(t.reply.strip()))

    expecting = [t for t in turns if any(_SOURCE.search(p) for p in t.turn.expect)]
    answered = [t for t in turns if confident(t)]
    right = [t for t in answered if t.ok]
    hedged = [t for t in turns if t.sent and _HEDGE.search(t.reply.strip())]
    precision = len(right) / len(answered) if answered else float("nan")
    coverage = sum(1 for t in expecting if confident(t) and t.ok) / len(expecting) if expecting else float("nan")
    return (f"confident answers {len(answered)}: precision {100 * precision:.0f}% ({len(right)}/{len(answered)}), "
            f"coverage {100 * coverage:.0f}% of {len(expecting)} turns expecting a sourced answer; "
            f"hedged {len(hedged)} ({sum(t.ok for t in hedged)} passed)")


def _summary(results: list[Result], core: set[str]) -> tuple[str, dict[str, float]]:
    """The printed report, and each language's share of conversations passed."""
    lines, rates = [], {}
    for lang in sorted({r.case.language for r in results}):
        mine = [r for r in results if r.case.language == lang]
        turns = [t for r in mine for t in r.turns]
        passed = sum(r.ok for r in mine)
        rates[lang] = passed / len(mine)
        core_mine = [r for r in mine if r.case.id in core]
        lines.append(
            f"{lang}: conversations {passed}/{len(mine)} passed ({100 * rates[lang]:.0f}%), "
            f"turns {sum(t.ok for t in turns)}/{len(turns)} passed, "
            f"core {sum(r.ok for r in core_mine)}/{len(core_mine)} passed"
        )
        lines.append(f"{lang}: {_precision_coverage(turns)}")
    for r in sorted(results, key=lambda r: r.case.id):
        if r.ok:
            continue
        label = "core" if r.case.id in core else ("known miss" if r.case.known_miss else "failed")
        lines.append(f"[{label}] {r.case.id}" + (f" (known miss: {r.case.known_miss})" if r.case.known_miss else ""))
        for number, turn in r.failing_turns:
            lines.append(f"    turn {number}/{len(r.turns)}: {turn.turn.question!r}")
            if turn.error is not None:
                lines.append(f"        error: {turn.error}")
            elif not turn.sent:
                lines.append("        not sent (an earlier turn got no reply)")
            else:
                reply = " ".join(turn.reply.split())
                lines.append(f"        reply: {reply[:400]}")
                lines.append(f"        missing: {turn.missing}  forbidden: {turn.forbidden}")
    return "\n".join(lines), rates


def test_conversations(bot_stack: BotProcesses, capsys: pytest.CaptureFixture[str]) -> None:
    cases, core = _load()
    # The first answer after start-up loads the embedding model: the bot_stack fixture has waited for it.
    # Each conversation gets a sender of its own (run_cases), the same for all of its turns.
    results = asyncio.run(
        run_cases(bot_stack.url, cases, concurrency=CONCURRENCY, timeout=120, sender_prefix="conv")
    )
    report, rates = _summary(results, core)
    with capsys.disabled():
        print("\nconversations (tests/e2e/conversations.yml)\n" + report)
    core_failing = [r.case.id for r in results if r.case.id in core and not r.ok]
    assert not core_failing, f"core conversations failing: {core_failing}\n{report}"
    low = {lang: round(rate, 3) for lang, rate in rates.items() if rate < PASS_RATE_FLOOR}
    assert not low, f"pass rate below {PASS_RATE_FLOOR}: {low}\n{report}"
