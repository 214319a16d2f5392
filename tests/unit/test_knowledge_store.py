"""Unit tests for bot.knowledge.store: loading knowledge/ and the quote check."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.knowledge.store import TOPICS, Knowledge, KnowledgeError, load_knowledge

REPO = Path(__file__).resolve().parents[2]
REAL_KNOWLEDGE = REPO / "knowledge"
SOURCE_FILE = "sources/kymenlaakso-ris3-strategy-page.txt"

# Sentences that stand verbatim in the real source page.
ABOUT_QUOTE = "Smart specialisation is a strategic approach to develop and renew business life"
CONTACT_QUOTE = "More information can be requested from the project manager Petri Tolmunen"


# --- the real knowledge/ ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> Knowledge:
    return load_knowledge(REAL_KNOWLEDGE)


def test_real_knowledge_every_fact_is_complete(real: Knowledge) -> None:
    assert real.facts
    for fact in real.facts.values():
        assert isinstance(fact.text.get("en"), str), fact.id
        assert fact.text["en"].strip(), fact.id
        assert isinstance(fact.title.get("en"), str), fact.id
        assert fact.title["en"].strip(), fact.id
        assert len(fact.quotes) >= 1, fact.id
        for quote in fact.quotes:
            assert quote.text.strip(), fact.id
            assert quote.source in real.sources, fact.id


def test_real_knowledge_menu_and_contact_exist(real: Knowledge) -> None:
    assert real.menu
    assert len(set(real.menu)) == len(real.menu)
    for fact_id in real.menu:
        assert fact_id in real.facts
    assert real.contact in real.facts
    assert real.facts[real.contact].topic == "contact"


def test_real_knowledge_covers_all_seven_topics(real: Knowledge) -> None:
    assert len(TOPICS) == 7
    assert {fact.topic for fact in real.facts.values()} == set(TOPICS)


def test_real_knowledge_follow_ups_name_facts(real: Knowledge) -> None:
    for fact in real.facts.values():
        for target in fact.follow_ups:
            assert target in real.facts, (fact.id, target)


# --- a small knowledge dir of our own --------------------------------------------------------


def make_fact(
    fact_id: str,
    quotes: list[str] | None = None,
    topic: str = "about",
    **extra: Any,
) -> dict[str, Any]:
    fact: dict[str, Any] = {
        "id": fact_id,
        "topic": topic,
        "title": {"en": f"Title of {fact_id}"},
        "text": {"en": f"Text of {fact_id}."},
        "quotes": [{"text": q} for q in (quotes if quotes is not None else [ABOUT_QUOTE])],
    }
    fact.update(extra)
    return fact


def base_facts() -> list[dict[str, Any]]:
    return [
        make_fact("about_what", follow_ups=["contact_pm"]),
        make_fact("contact_pm", [CONTACT_QUOTE], topic="contact"),
    ]


def write_facts(
    root: Path,
    facts: list[dict[str, Any]],
    menu: list[str] | None = None,
    contact: str = "contact_pm",
) -> None:
    data = {"menu": menu if menu is not None else ["about_what"], "contact": contact, "facts": facts}
    (root / "facts.yml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    """A knowledge dir with the real sources and a small valid facts.yml."""
    root = tmp_path / "knowledge"
    root.mkdir()
    shutil.copytree(REAL_KNOWLEDGE / "sources", root / "sources")
    shutil.copy(REAL_KNOWLEDGE / "sources.yml", root / "sources.yml")
    write_facts(root, base_facts())
    return root


def error_of(root: Path) -> str:
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(root)
    return str(info.value)


def test_small_knowledge_dir_loads(kdir: Path) -> None:
    knowledge = load_knowledge(kdir)
    assert set(knowledge.facts) == {"about_what", "contact_pm"}
    assert knowledge.menu == ("about_what",)
    assert knowledge.contact == "contact_pm"
    assert knowledge.facts["about_what"].quotes[0].source == "ris3-page"


def test_quote_not_in_source_names_fact_and_quote(kdir: Path) -> None:
    missing = "Smart specialisation is a tactical approach to running a bakery"
    write_facts(kdir, [*base_facts(), make_fact("invented_claim", [ABOUT_QUOTE, missing])])
    message = error_of(kdir)
    assert "invented_claim" in message
    assert missing in message


def test_quote_check_is_a_quote_check_not_a_word_check(kdir: Path) -> None:
    # Every word is on the page, but not in this order.
    write_facts(kdir, [*base_facts(), make_fact("shuffled", ["approach strategic a is specialisation Smart"])])
    assert "shuffled" in error_of(kdir)


@pytest.mark.parametrize(
    "quote",
    [
        pytest.param(
            "Smart   specialisation is a\n  strategic\tapproach to develop and renew business life",
            id="whitespace",
        ),
        # The source has a curly apostrophe here ...
        pytest.param("grounded on the region's own areas of strength and growth", id="straight-for-curly"),
        # ... and a straight one here.
        pytest.param(
            "The Kymenlaakso RIS3 strategy describes the region’s strengths and expertise",
            id="curly-for-straight",
        ),
        pytest.param("Kymenlaakso's updated RIS3 Strategy", id="straight-for-acute"),
        # The source has an en dash here ...
        pytest.param("smart specialisation priorities for 2021 - 2025 are", id="hyphen-for-en-dash"),
        pytest.param("KymÄES 2.0 - Accelerating the Kymenlaakso", id="hyphen-for-en-dash-2"),
        # ... and a hyphen here.
        pytest.param("updated RIS3 Strategy 2021–2025 will be published", id="en-dash-for-hyphen"),
    ],
)
def test_typographic_variants_of_a_quote_pass(kdir: Path, quote: str) -> None:
    write_facts(kdir, [*base_facts(), make_fact("variant", [quote])])
    knowledge = load_knowledge(kdir)
    assert "variant" in knowledge.facts


def test_unknown_follow_up_is_named(kdir: Path) -> None:
    write_facts(kdir, [*base_facts(), make_fact("asker", follow_ups=["about_what", "no_such_fact"])])
    message = error_of(kdir)
    assert "no_such_fact" in message
    assert "asker" in message


def test_duplicated_id_fails(kdir: Path) -> None:
    write_facts(kdir, [*base_facts(), make_fact("about_what", [CONTACT_QUOTE])])
    assert "about_what" in error_of(kdir)


def test_unknown_topic_fails(kdir: Path) -> None:
    write_facts(kdir, [*base_facts(), make_fact("rainy", topic="weather")])
    message = error_of(kdir)
    assert "rainy" in message
    assert "weather" in message


@pytest.mark.parametrize("quotes", [[], None], ids=["empty-list", "absent"])
def test_fact_without_quotes_fails(kdir: Path, quotes: list[str] | None) -> None:
    fact = make_fact("unsupported")
    if quotes is None:
        del fact["quotes"]
    else:
        fact["quotes"] = quotes
    write_facts(kdir, [*base_facts(), fact])
    assert "unsupported" in error_of(kdir)


def test_fact_without_english_text_fails(kdir: Path) -> None:
    write_facts(kdir, [*base_facts(), make_fact("finnish_only", text={"fi": "Vain suomeksi."})])
    assert "finnish_only" in error_of(kdir)


def test_menu_naming_no_fact_fails(kdir: Path) -> None:
    write_facts(kdir, base_facts(), menu=["about_what", "ghost_button"])
    assert "ghost_button" in error_of(kdir)


def test_contact_naming_no_fact_fails(kdir: Path) -> None:
    write_facts(kdir, base_facts(), contact="nobody_home")
    assert "nobody_home" in error_of(kdir)


@pytest.mark.parametrize("name", ["facts.yml", "sources.yml"])
def test_malformed_yaml_is_a_knowledge_error(kdir: Path, name: str) -> None:
    (kdir / name).write_text("facts: [unclosed\n  - id: broken: : :\n", encoding="utf-8")
    try:
        load_knowledge(kdir)
    except KnowledgeError as exc:
        assert name in str(exc)
    except yaml.YAMLError as exc:  # pragma: no cover - the failure this test guards against
        pytest.fail(f"a yaml exception escaped instead of KnowledgeError: {exc!r}")
    else:  # pragma: no cover
        pytest.fail("malformed YAML was accepted")


def test_yaml_that_is_not_a_mapping_fails(kdir: Path) -> None:
    (kdir / "facts.yml").write_text("- just\n- a list\n", encoding="utf-8")
    assert "facts.yml" in error_of(kdir)


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("title", "Kymenlaakso's Dumb Specialisation RIS3 Strategy"),
        ("updated", "13.01.2021"),
        ("publisher", "Someone Else Oy"),
    ],
)
def test_source_metadata_not_in_its_text_names_the_source(kdir: Path, label: str, value: str) -> None:
    meta = yaml.safe_load((kdir / "sources.yml").read_text(encoding="utf-8"))
    meta["sources"][0][label] = value
    (kdir / "sources.yml").write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    message = error_of(kdir)
    assert "ris3-page" in message
    assert value in message


def test_missing_source_file_fails(kdir: Path) -> None:
    (kdir / SOURCE_FILE).unlink()
    assert "ris3-page" in error_of(kdir)


# --- content_hash ----------------------------------------------------------------------------


def test_content_hash_is_stable(kdir: Path, tmp_path: Path) -> None:
    first = load_knowledge(kdir).content_hash()
    assert load_knowledge(kdir).content_hash() == first
    # It depends on the contents and the paths inside knowledge/, not on where knowledge/ lives.
    elsewhere = tmp_path / "elsewhere" / "knowledge"
    shutil.copytree(kdir, elsewhere)
    assert load_knowledge(elsewhere).content_hash() == first


def test_content_hash_changes_with_fact_text(kdir: Path) -> None:
    before = load_knowledge(kdir).content_hash()
    facts = base_facts()
    facts[0]["text"] = {"en": "A different answer."}
    write_facts(kdir, facts)
    changed = load_knowledge(kdir).content_hash()
    assert changed != before
    write_facts(kdir, base_facts())
    assert load_knowledge(kdir).content_hash() == before


def test_content_hash_changes_with_source_text(kdir: Path) -> None:
    before = load_knowledge(kdir).content_hash()
    source = kdir / SOURCE_FILE
    original = source.read_bytes()
    source.write_bytes(original + b"\nOne more published sentence.\n")
    assert load_knowledge(kdir).content_hash() != before
    source.write_bytes(original)
    assert load_knowledge(kdir).content_hash() == before


def test_content_hash_changes_with_sources_yml(kdir: Path) -> None:
    before = load_knowledge(kdir).content_hash()
    meta = yaml.safe_load((kdir / "sources.yml").read_text(encoding="utf-8"))
    meta["sources"][0]["not_content"].append("Tilaa uutiskirje tästä")
    (kdir / "sources.yml").write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    assert load_knowledge(kdir).content_hash() != before
