"""FAQ test cases (tests/faq/cases/*.yml): a question, its language, the facts the reply must
contain (`expect` regexes), text it must not contain (`not`), tags, and optionally `known_miss`.

A case may instead be a conversation: `turns`, a list of `{question, expect, not}` sent in order in one
conversation, each turn judged on its own reply; the case passes when every turn passes."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CASES = Path(__file__).resolve().parents[2] / "tests" / "faq" / "cases"
TOPICS = {
    "about", "priorities", "timeline", "project", "contact", "brochure", "publisher",
    "out_of_scope", "smalltalk", "handoff",
}
# The keys a turn of a conversation may have: anything else is a typo ("expects") that would silently check nothing.
TURN_KEYS = {"question", "expect", "not"}
# A stable case name given in the file: letters, digits, '-' and '_' (it appears in reports and JUnit names).
_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class CaseError(ValueError):
    """A case file is malformed."""


@dataclass(frozen=True)
class Turn:
    """One message of a case and what its reply must (expect) and must not (forbid) contain."""

    question: str
    expect: list[str] = field(default_factory=list)
    forbid: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Case:
    """A single question (`question`, `expect`, `forbid`) or a conversation (`turns`, two or more).

    For a single question `turns` holds that one turn, so the runner treats both alike; for a
    conversation `question`, `expect` and `forbid` are those of its first turn."""

    id: str
    question: str
    language: str
    topic: str
    expect: list[str]
    forbid: list[str] = field(default_factory=list)
    intent: str | None = None
    tags: list[str] = field(default_factory=list)
    known_miss: str | None = None
    file: str = ""
    turns: tuple[Turn, ...] = ()

    def __post_init__(self) -> None:
        if not self.turns:
            # Frozen: the one turn of a single question is filled in here, once.
            object.__setattr__(self, "turns", (Turn(self.question, list(self.expect), list(self.forbid)),))

    @property
    def is_conversation(self) -> bool:
        return len(self.turns) > 1

    @property
    def questions(self) -> list[str]:
        return [t.question for t in self.turns]

    @property
    def title(self) -> str:
        """The question, or a conversation's questions in order, for reports."""
        return " → ".join(self.questions)


def _patterns(value: Any, where: str, key: str, problems: list[str]) -> list[str]:
    """A list of valid regexes from `value` (one string is taken as a list of one)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        problems.append(f"{where}: `{key}` must be a list of regexes")
        return []
    for pattern in value:
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(f"{where}: bad regex {pattern!r}: {exc}")
    return list(value)


def _turns(raw: Any, where: str, problems: list[str]) -> tuple[Turn, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        problems.append(f"{where}: `turns` must list at least two turns (a single question is written with `question`)")
        return ()
    turns: list[Turn] = []
    for number, item in enumerate(raw, 1):
        at = f"{where} turn {number}"
        if not isinstance(item, dict) or not isinstance(item.get("question"), str) or not item["question"].strip():
            problems.append(f"{at}: needs a `question`")
            continue
        unknown = sorted(set(item) - TURN_KEYS)
        if unknown:
            problems.append(f"{at}: unknown key(s) {', '.join(unknown)} (a turn has question, expect, not)")
        expect = _patterns(item.get("expect"), at, "expect", problems)
        forbid = _patterns(item.get("not"), at, "not", problems)
        if not expect and not forbid:
            problems.append(f"{at}: needs `expect` or `not` regexes")
        turns.append(Turn(item["question"], expect, forbid))
    return tuple(turns)


def parse_cases(raw: Any, name: str, stem: str | None = None) -> tuple[list[Case], list[str]]:
    """The cases in one file's parsed YAML and the problems found (empty when all is well). `name` is the
    file name used in messages, `stem` the prefix of the numbered case ids."""
    stem = stem if stem is not None else Path(name).stem
    cases: list[Case] = []
    problems: list[str] = []
    if not isinstance(raw, list):
        return [], [f"{name}: must be a list of cases"]
    for number, item in enumerate(raw, 1):
        where = f"{name} #{number}"
        if not isinstance(item, dict):
            problems.append(f"{where}: needs a `question` or `turns`")
            continue
        has_question, has_turns = isinstance(item.get("question"), str), "turns" in item
        if has_question == has_turns:
            problems.append(f"{where}: needs a `question` or `turns`" if not has_turns else
                            f"{where}: has both `question` and `turns`; write one")
            continue
        lang = item.get("language")
        if lang not in ("en", "fi"):
            problems.append(f"{where}: language must be en or fi")
        tags = [str(t) for t in item.get("tags") or []]
        topic = next((t for t in tags if t in TOPICS), "")
        if not topic:
            problems.append(f"{where}: tags name no topic ({', '.join(sorted(TOPICS))})")
        case_id = item.get("id")
        if case_id is not None and not (isinstance(case_id, str) and _CASE_ID.match(case_id)):
            problems.append(f"{where}: `id` must be letters, digits, '-' or '_'")
            case_id = None
        common = {
            "id": case_id or f"{stem}-{number:03d}",
            "language": str(lang),
            "topic": topic,
            "intent": item.get("intent"),
            "tags": tags,
            "known_miss": item.get("known_miss"),
            "file": name,
        }
        if has_turns:
            if "expect" in item or "not" in item:
                problems.append(f"{where}: a conversation's `expect`/`not` go under each turn")
            turns = _turns(item["turns"], where, problems)
            if not turns:
                continue
            first = turns[0]
            cases.append(Case(question=first.question, expect=first.expect, forbid=first.forbid, turns=turns,
                              **common))
            continue
        expect = _patterns(item.get("expect"), where, "expect", problems)
        forbid = _patterns(item.get("not"), where, "not", problems)
        if not expect and not forbid:
            problems.append(f"{where}: needs `expect` or `not` regexes")
        cases.append(Case(question=item["question"], expect=expect, forbid=forbid, **common))
    return cases, problems


def load_case_file(path: Path | str, stem: str | None = None) -> list[Case]:
    """The cases of one file; CaseError names every problem found."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        raise CaseError(f"{path}: {exc}") from exc
    cases, problems = parse_cases(raw, path.name, stem)
    problems += _duplicate_ids(cases)
    if problems:
        raise CaseError("; ".join(problems))
    return cases


def _duplicate_ids(cases: list[Case]) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for case in cases:
        if case.id in seen:
            problems.append(f"{case.file}: case id {case.id!r} is used twice (also in {seen[case.id]})")
        seen.setdefault(case.id, case.file)
    return problems


def load_cases(directory: Path | str = DEFAULT_CASES) -> list[Case]:
    directory = Path(directory)
    files = sorted(directory.glob("*.yml"))
    if not files:
        raise CaseError(f"no case files (*.yml) in {directory}")
    cases: list[Case] = []
    problems: list[str] = []
    for path in files:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except yaml.YAMLError as exc:
            raise CaseError(f"{path}: {exc}") from exc
        found, wrong = parse_cases(raw, path.name)
        cases += found
        problems += wrong
    problems += _duplicate_ids(cases)
    if problems:
        raise CaseError("; ".join(problems))
    return cases


def normalise(text: str) -> str:
    """Case-, accent-mark- and punctuation-insensitive form for comparing questions."""
    text = unicodedata.normalize("NFC", text).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


_ENTITY = re.compile(r"\[([^\]]*)\](\{[^}]*\}|\([^)]*\))")


def nlu_examples(nlu_dir: Path | str) -> set[str]:
    """Every training example in data/nlu/*.yml (entity annotations removed), normalised."""
    examples: set[str] = set()
    for path in sorted(Path(nlu_dir).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.add(normalise(_ENTITY.sub(r"\1", line[2:])))
    return examples


# A later turn of a conversation this short ("the second one", "toinen", "kerro lisää") is a stock follow-up:
# the training data may well hold it, and what it tests is following the conversation, which no training
# example can hold. Longer turns and every first question must be written apart from the training data.
STOCK_FOLLOW_UP_WORDS = 3


def own_questions(case: Case) -> list[str]:
    """The questions of a case that must not copy the training data (see STOCK_FOLLOW_UP_WORDS)."""
    return [q for number, q in enumerate(case.questions) if number == 0 or len(q.split()) > STOCK_FOLLOW_UP_WORDS]


def overlapping(cases: list[Case], nlu_dir: Path | str) -> list[Case]:
    """Cases with a question that is also a training example: they would test memory, not understanding."""
    examples = nlu_examples(nlu_dir)
    return [case for case in cases if any(normalise(q) in examples for q in own_questions(case))]
