"""Unit tests for bot.knowledge.passages: cutting a source into quotable sentences."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.passages import MIN_WORDS, Passage, split_passages
from bot.knowledge.store import Source, load_knowledge
from bot.knowledge.text import fold, words

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def source() -> Source:
    return load_knowledge(REPO / "knowledge").sources["ris3-page"]


@pytest.fixture(scope="module")
def passages(source: Source) -> list[Passage]:
    result = split_passages(source)
    assert result
    return result


def make_source(text: str, not_content: tuple[str, ...] = ()) -> Source:
    return Source(
        id="synthetic",
        path=Path("synthetic.txt"),
        lang="en",
        title="Synthetic",
        updated="12.01.2021",
        publisher="Nobody",
        text=text,
        not_content=not_content,
    )


def test_not_content_lines_never_appear(source: Source, passages: list[Passage]) -> None:
    assert source.not_content
    own_lines = {fold(line) for line in source.text.splitlines()}
    for line in source.not_content:
        folded = fold(line)
        bare = folded.strip(" •")
        for passage in passages:
            assert folded not in passage.text, (line, passage.id)
            # A navigation bullet may repeat the page's own heading; only the bullet is left out.
            if bare not in own_lines:
                assert passage.text != bare, (line, passage.id)
    # The advert is long enough to be a passage, so this is not passing by the word limit alone.
    assert len(words("e-max.it: your social media marketing partner")) >= MIN_WORDS
    assert all("e-max.it" not in p.text for p in passages)


def test_date_and_version_are_not_split(passages: list[Passage]) -> None:
    texts = [p.text for p in passages]
    for text in texts:
        assert not text.endswith(("12.", "12.01.", "KymÄES 2.")), text
        assert not text.startswith(("01.2021", "2021", "0 -", "0 –")), text
    project = [t for t in texts if "KymÄES 2.0 - Accelerating the Kymenlaakso Smart Specialisation" in t]
    assert len(project) == 1
    assert project[0].startswith("The update of the strategy was part of")
    assert project[0].endswith("Innovation Ecosystem.")


def test_date_inside_a_sentence_stays_whole() -> None:
    text = (
        "The strategy page was last updated on 12.01.2021 by the regional council. "
        "The project KymÄES 2.0 – Accelerating the ecosystem ran during Autumn 2020. "
        "Version 2.0 Is written with a capital here on purpose for this test."
    )
    result = [p.text for p in split_passages(make_source(text))]
    assert result == [
        "The strategy page was last updated on 12.01.2021 by the regional council.",
        "The project KymÄES 2.0 - Accelerating the ecosystem ran during Autumn 2020.",
        "Version 2.0 Is written with a capital here on purpose for this test.",
    ]


def test_every_passage_is_in_the_source(source: Source, passages: list[Passage]) -> None:
    folded = fold(source.text)
    for passage in passages:
        assert passage.text == fold(passage.text), passage.id
        assert passage.text in folded, passage.id


def test_passage_ids_are_unique_and_fields_consistent(source: Source, passages: list[Passage]) -> None:
    ids = [p.id for p in passages]
    assert len(set(ids)) == len(ids)
    for passage in passages:
        assert passage.id.startswith(f"{source.id}#p")
        assert passage.source == source.id
        assert passage.lang == source.lang
        assert len(words(passage.text)) >= MIN_WORDS, passage.text
    paragraphs = [p.paragraph for p in passages]
    assert paragraphs == sorted(paragraphs)


def test_passages_are_deterministic(source: Source, passages: list[Passage]) -> None:
    assert split_passages(source) == passages


def test_short_lines_and_skipped_lines_are_dropped() -> None:
    text = (
        "• Etusivu\n"
        "Short heading\n\n"
        "Follow us on every social network you can possibly think of\n\n"
        "This sentence is long enough to be kept as a passage."
    )
    source = make_source(text, not_content=("• Etusivu", "Follow us on every social network you can possibly think of"))
    assert [p.text for p in split_passages(source)] == ["This sentence is long enough to be kept as a passage."]
