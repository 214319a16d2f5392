"""Grouping by meaning with the bot's own embedding model (multilingual-e5-small): paraphrases together,
different questions apart, and the measurement behind GROUP_SIMILARITY (bot/analytics/review.py)."""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Any

import numpy as np
import pytest
import yaml
from review_helpers import NOW, declined

from bot.analytics.review import (
    DECLINED,
    GROUP_SIMILARITY,
    ReviewQuestion,
    cluster,
    group_questions,
    normalise,
)
from bot.settings import PROJECT_ROOT

# Each inner list: one question asked in different words (one language); the lists are different questions.
MEANINGS = [
    ["How many jobs has the strategy created?", "how many jobs did the RIS3 strategy create so far",
     "number of jobs created by the strategy?"],
    ["Is tourism one of the priorities?", "is tourism a priority"],
    ["What are the office opening hours?", "when is the office open?"],
    ["Who is the director of the Regional Council?", "who leads the regional council of kymenlaakso"],
    ["When does the next strategy period start?", "when will the next RIS3 strategy come"],
    ["Can I apply for funding for my company?", "how can my company apply for RDI funding"],
    ["What is the weather like in Kotka?"],
    ["Kuinka monta työpaikkaa strategia on luonut?", "montako työpaikkaa strategia on synnyttänyt"],
    ["Milloin toimisto on auki?", "mitkä ovat toimiston aukioloajat"],
]


def questions_of(texts: list[str]) -> list[ReviewQuestion]:
    found = []
    for text in texts:
        question = ReviewQuestion(text, normalise(text))
        question.add(declined(text, at=NOW), [DECLINED])
        found.append(question)
    return found


def test_paraphrases_share_a_group_and_different_questions_do_not(real_embedder: Any) -> None:
    texts = [text for meaning in MEANINGS for text in meaning]
    groups = group_questions(questions_of(texts), real_embedder.queries)
    found = sorted(sorted(q.text for q in group.questions) for group in groups)
    assert found == sorted(sorted(meaning) for meaning in MEANINGS)


def test_the_queue_groups_what_the_bot_was_asked(real_embedder: Any) -> None:
    asked = ["is there a swedish version of the brochure", "brochure in swedish?", "Onko esitettä ruotsiksi?",
             "who is the mayor of Kotka", "what is the population of Kouvola"]
    groups = group_questions(questions_of(asked), real_embedder.queries)
    together = [sorted(q.text for q in g.questions) for g in groups if len(g.questions) > 1]
    assert together == [["brochure in swedish?", "is there a swedish version of the brochure"]]
    assert len(groups) == 4  # the Finnish one is close (a translation) but below the threshold: a group of its own


def _labelled() -> tuple[list[str], list[set[str]]]:
    cases = yaml.safe_load((PROJECT_ROOT / "tests" / "data" / "decision_cases.yml").read_text(encoding="utf-8"))
    answerable = [c for c in cases if c["expect"] not in ("none", ["none"])]
    return [c["q"] for c in answerable], [set(c["expect"]) for c in answerable]


@pytest.mark.parametrize("similarity", [GROUP_SIMILARITY])
def test_on_the_labelled_questions_groups_hold_one_meaning(real_embedder: Any, similarity: float) -> None:
    """The figures GROUP_SIMILARITY's comment quotes: of the pairs of questions put in one group, at least 80%
    are answered by one fact; at least 90% of the questions are in a group whose main fact answers them."""
    texts, labels = _labelled()
    labels_of = cluster(np.asarray(real_embedder.queries(texts)), similarity)
    together = same = 0
    for a, b in combinations(range(len(texts)), 2):
        if labels_of[a] == labels_of[b]:
            together += 1
            same += bool(labels[a] & labels[b])
    members: dict[int, list[int]] = {}
    for row, label in enumerate(labels_of):
        members.setdefault(label, []).append(row)
    pure = 0
    for rows in members.values():
        main = Counter(fact for row in rows for fact in labels[row]).most_common(1)[0][0]
        pure += sum(main in labels[row] for row in rows)
    precision, purity = same / together, pure / len(texts)
    print(f"{len(texts)} questions, {len(members)} groups, {together} pairs together: "
          f"{precision:.1%} of one fact, purity {purity:.1%}")
    assert precision >= 0.80 and purity >= 0.90
