"""Reviewed questions added to the labelled set of the answer/decline decision, for its next fit.

The set is LABELLED_SET (read by bench/decision_calibrate.py; the one place to change when that file moves or is
renamed). Staff decide in Review what should have happened to a question (bot/analytics/review.py); with "add to
the labelled set" ticked, each question of the decision is appended as one case in the set's own flow style:

    - {q: "…", lang: en, expect: [priorities_all], from: review}     # answered by that fact
    - {q: "…", lang: fi, expect: none, from: review}                 # the page does not answer it

`from: review` marks what staff added (the fit reads q, lang, expect and ignores other keys); a question already
in the set (typed alike: bot.faq.cases.normalise) is not added twice. Lines are appended, never rewritten, so
`git diff` shows exactly what Review added. The file is replaced atomically, and the writer runs under the
Review desk's lock (one decision at a time).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.faq.cases import normalise
from bot.settings import PROJECT_ROOT

LABELLED_SET = PROJECT_ROOT / "tests" / "data" / "decision_cases.yml"
HEADER = "\n# --- added from Review (bot/analytics/labelled.py)\n"
LANGUAGES = ("en", "fi")


class LabelledSetError(ValueError):
    """The set cannot be read as a list of cases: nothing is written."""


@dataclass(frozen=True)
class LabelledQuestion:
    q: str
    lang: str
    expect: str | None  # a fact id, or None: the page does not answer it


def _quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def case_line(question: LabelledQuestion) -> str:
    expect = f"[{question.expect}]" if question.expect else "none"
    return f"- {{q: {_quoted(question.q)}, lang: {question.lang}, expect: {expect}, from: review}}\n"


def _known(text: str) -> set[str]:
    try:
        cases = yaml.safe_load(text) or []
    except yaml.YAMLError as exc:
        raise LabelledSetError(f"the labelled set is not valid YAML: {exc}") from None
    if not isinstance(cases, list):
        raise LabelledSetError("the labelled set is not a list of cases")
    return {normalise(str(c.get("q") or "")) for c in cases if isinstance(c, dict)}


def with_questions(text: str, questions: Iterable[LabelledQuestion]) -> tuple[str, list[LabelledQuestion]]:
    """The set's text with the new questions appended, and which ones were new."""
    known = _known(text)
    added = []
    for question in questions:
        key = normalise(question.q)
        if not key or key in known or question.lang not in LANGUAGES:
            continue
        known.add(key)
        added.append(question)
    if not added:
        return text, []
    body = text if text.endswith("\n") or not text else text + "\n"
    if HEADER.strip() not in body:
        body += HEADER
    body += "".join(case_line(q) for q in added)
    _known(body)  # what is written reads back as cases
    return body, added


def append_labelled(
    questions: Sequence[LabelledQuestion],
    write: Callable[[Path, str], None],
    path: Path = LABELLED_SET,
) -> list[LabelledQuestion]:
    """Appends the questions not yet in the set at `path` with `write` (an atomic replacement of the file);
    returns those appended."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    new_text, added = with_questions(text, questions)
    if added:
        write(path, new_text)
    return added
