"""FAQ test cases (tests/faq/cases/*.yml): a question, its language, the facts the reply must
contain (`expect` regexes), text it must not contain (`not`), tags, and optionally `known_miss`."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_CASES = Path(__file__).resolve().parents[2] / "tests" / "faq" / "cases"
TOPICS = {
    "about", "priorities", "timeline", "project", "contact", "brochure", "publisher",
    "out_of_scope", "smalltalk", "handoff",
}


class CaseError(ValueError):
    """A case file is malformed."""


@dataclass(frozen=True)
class Case:
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
        for number, item in enumerate(raw, 1):
            where = f"{path.name} #{number}"
            if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                problems.append(f"{where}: needs a `question`")
                continue
            lang = item.get("language")
            if lang not in ("en", "fi"):
                problems.append(f"{where}: language must be en or fi")
            tags = [str(t) for t in item.get("tags") or []]
            topic = next((t for t in tags if t in TOPICS), "")
            if not topic:
                problems.append(f"{where}: tags name no topic ({', '.join(sorted(TOPICS))})")
            expect, forbid = list(item.get("expect") or []), list(item.get("not") or [])
            if not expect and not forbid:
                problems.append(f"{where}: needs `expect` or `not` regexes")
            for pattern in expect + forbid:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    problems.append(f"{where}: bad regex {pattern!r}: {exc}")
            cases.append(
                Case(
                    id=f"{path.stem}-{number:03d}",
                    question=item["question"],
                    language=str(lang),
                    topic=topic,
                    expect=expect,
                    forbid=forbid,
                    intent=item.get("intent"),
                    tags=tags,
                    known_miss=item.get("known_miss"),
                    file=path.name,
                )
            )
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


def overlapping(cases: list[Case], nlu_dir: Path | str) -> list[Case]:
    """Cases whose question is also a training example: they would test memory, not understanding."""
    examples = nlu_examples(nlu_dir)
    return [case for case in cases if normalise(case.question) in examples]
