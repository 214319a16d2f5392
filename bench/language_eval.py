"""Prints language-detection accuracy on the labelled messages and the end-to-end questions.

    python3 bench/language_eval.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.faq.cases import DEFAULT_CASES, load_case_file  # noqa: E402
from bot.language import detect  # noqa: E402


def main() -> int:
    sets = [("labelled messages", [(c["text"], c["lang"]) for c in yaml.safe_load(
        (ROOT / "tests/data/language_cases.yml").read_text(encoding="utf-8"))])]
    for lang in ("en", "fi"):
        cases = load_case_file(DEFAULT_CASES / f"e2e_{lang}.yml")
        sets.append((f"e2e questions ({lang})", [(c.question, lang) for c in cases]))
    for name, cases in sets:
        right = sum(detect(text) == lang for text, lang in cases)
        undecided = sum(detect(text) is None and lang is not None for text, lang in cases)
        print(f"{name:24} {right}/{len(cases)} right ({100 * right / len(cases):.0f}%), "
              f"{undecided} undecided (the conversation keeps its language)")
        for text, lang in cases:
            if detect(text) != lang:
                print(f"    {lang} -> {detect(text)}: {text!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
