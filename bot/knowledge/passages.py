"""Passages: the source text cut into sentences that retrieval can quote when no curated fact fits."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge.store import Source
from bot.knowledge.text import fold, words

# A sentence ends at . ! or ? followed by a space and a capital letter; "12.01.2021" and "2.0" stay whole.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÅ])")
# Shorter lines are headings, list bullets or page furniture, not statements worth quoting alone.
MIN_WORDS = 6


@dataclass(frozen=True)
class Passage:
    id: str
    source: str
    lang: str
    text: str
    paragraph: int


def split_passages(source: Source) -> list[Passage]:
    skip = {fold(line) for line in source.not_content}
    passages: list[Passage] = []
    paragraphs = [p for p in re.split(r"\n\s*\n", source.text) if p.strip()]
    for p_index, paragraph in enumerate(paragraphs):
        # A skipped line ends a run of lines: joining across it would make text the source never had.
        runs: list[list[str]] = [[]]
        for line in paragraph.splitlines():
            if fold(line) in skip:
                runs.append([])
            elif fold(line):
                runs[-1].append(line)
        sentences = [s for run in runs if run for s in _SENTENCE_END.split(fold(" ".join(run)))]
        for sentence in sentences:
            sentence = sentence.strip(" •")
            if len(words(sentence)) >= MIN_WORDS:
                passages.append(
                    Passage(
                        id=f"{source.id}#p{p_index}.{len(passages)}",
                        source=source.id,
                        lang=source.lang,
                        text=sentence,
                        paragraph=p_index,
                    )
                )
    return passages
