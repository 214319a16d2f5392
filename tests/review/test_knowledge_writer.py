"""Teaching a fact new phrasings: keys inserted into facts.yml as new lines only, FAQ cases that check the answer,
and nothing written when the result would not load (on a copy of knowledge/ and of the FAQ cases)."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest
import yaml
from review_helpers import NLU_DIR, NOW, declined

from bot.analytics.review import (
    DECLINED,
    NOT_AN_ANSWER,
    KnowledgeChangeRefused,
    KnowledgeWriter,
    ReviewError,
    ReviewQuestion,
    distinctive_phrase,
    insert_keys,
    normalise,
    yaml_scalar,
)
from bot.faq.cases import load_case_file, load_cases
from bot.knowledge.store import load_knowledge


def q(text: str, language: str = "en") -> ReviewQuestion:
    question = ReviewQuestion(text, normalise(text))
    question.add(declined(text, language=language, at=NOW), [DECLINED])
    return question


def added_lines(before: str, after: str) -> list[str]:
    """What `git diff` would show: only added lines, or the lines removed or changed too."""
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))
    changed = [line for line in diff[2:] if not line.startswith("@@")]
    assert all(line.startswith("+") for line in changed), changed
    return [line[1:] for line in changed]


def test_keys_are_new_lines_in_the_facts_list_and_the_knowledge_loads(knowledge: Path, cases: Path) -> None:
    writer = KnowledgeWriter(knowledge, cases, NLU_DIR)
    before = (knowledge / "facts.yml").read_text(encoding="utf-8")
    asked = [q("is there a paper I can hand out to partners in English"), q("yes: an English brochure?"),
             q("löytyykö esite englanniksi paperina", "fi")]
    with writer.locked():
        change = writer.plan_fact("brochure_english", asked, "g1", "tester")
        summary = writer.apply(change)
    after = (knowledge / "facts.yml").read_text(encoding="utf-8")
    assert added_lines(before, after) == [
        "        - is there a paper I can hand out to partners in English",
        '        - "yes: an English brochure?"',  # a colon and space would make a mapping: quoted
        "        - löytyykö esite englanniksi paperina",
    ]
    fact = load_knowledge(knowledge).facts["brochure_english"]
    assert fact.keys["en"][-2:] == [asked[0].text, asked[1].text]
    assert fact.keys["fi"][-1] == "löytyykö esite englanniksi paperina"
    assert summary["keys_added"] == {"en": [a.text for a in asked[:2]], "fi": [asked[2].text]}
    assert summary["faq_cases_added"] == {"en": 2, "fi": 1}


def test_the_faq_cases_expect_the_facts_own_words(knowledge: Path, cases: Path) -> None:
    writer = KnowledgeWriter(knowledge, cases, NLU_DIR)
    with writer.locked():
        asked = [q("where's the council's HQ"), q("missä on liiton pääkonttori", "fi")]
        writer.apply(writer.plan_fact("contact_addresses", asked, "g2", "tester"))
    learned = load_case_file(cases / "learned_en.yml") + load_case_file(cases / "learned_fi.yml")
    assert [(c.question, c.language, c.topic) for c in learned] == [
        ("where's the council's HQ", "en", "contact"), ("missä on liiton pääkonttori", "fi", "contact"),
    ]
    assert all("learned" in c.tags and c.language in c.tags for c in learned)
    facts = load_knowledge(knowledge).facts
    for case in learned:
        # The fact's answer passes the case; an "I'm not sure" or "I don't know" reply does not.
        answer = facts["contact_addresses"].text[case.language]
        assert all(re.search(p, answer, re.IGNORECASE) for p in case.expect)
        assert not any(re.search(p, answer, re.IGNORECASE) for p in case.forbid)
        assert case.forbid == NOT_AN_ANSWER[case.language]
        # The phrase is the fact's own: no other fact's text has it.
        assert not any(re.search(case.expect[0], f.text.get(case.language, ""), re.IGNORECASE)
                       for f in facts.values() if f.id != "contact_addresses")
    load_cases(cases)  # the whole suite still loads: ids unique, every case well formed
    assert "# Questions staff taught the bot" in (cases / "learned_en.yml").read_text(encoding="utf-8")


def test_known_phrasings_training_examples_and_long_questions_are_skipped(knowledge: Path, cases: Path) -> None:
    writer = KnowledgeWriter(knowledge, cases, NLU_DIR)
    training = next(line[6:].strip() for line in (NLU_DIR / "en.yml").read_text(encoding="utf-8").splitlines()
                    if line.startswith("    - ") and "[" not in line)
    asked = [q("What is smart specialisation?"), q("Who is the project manager?"), q("x" * 301), q(training)]
    with writer.locked():
        change = writer.plan_fact("about_what", asked, "g3", "tester")
    why = {s["question"][:40]: s["why"] for s in change.skipped}
    assert why["What is smart specialisation?"] == "already a phrasing of about_what"
    assert why["Who is the project manager?"] == "already a phrasing of another fact, contact_project_manager"
    assert why["x" * 40] == "longer than 300 characters"
    if normalise(training) not in {normalise(k) for f in load_knowledge(knowledge).facts.values()
                                   for ks in f.keys.values() for k in ks}:
        assert change.keys == {"en": [training]}
        assert why[training[:40]] == "no FAQ case: it is an NLU training example"


def test_an_unknown_fact_is_refused(knowledge: Path, cases: Path) -> None:
    with pytest.raises(ReviewError, match="no fact 'about_nothing'"):
        KnowledgeWriter(knowledge, cases, NLU_DIR).plan_fact("about_nothing", [q("anything")], "g", "t")


def snapshot(*folders: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


def test_knowledge_that_would_not_pass_its_checks_is_not_written(knowledge: Path, cases: Path) -> None:
    # The FAQ names a fact that does not exist: the knowledge as a whole fails its checks, so nothing is added.
    faq = knowledge / "faq.yml"
    faq.write_text(faq.read_text(encoding="utf-8").replace("facts: [about_what]", "facts: [about_whatever]", 1),
                   encoding="utf-8")
    before = snapshot(knowledge, cases)
    writer = KnowledgeWriter(knowledge, cases, NLU_DIR)
    with pytest.raises(KnowledgeChangeRefused, match=r"would not pass its checks.*about_whatever"), writer.locked():
        writer.plan_fact("about_what", [q("so what does RIS3 stand for in practice")], "g", "t")
    assert snapshot(knowledge, cases) == before


def test_a_fact_written_in_another_layout_is_refused(knowledge: Path, cases: Path) -> None:
    facts = knowledge / "facts.yml"
    text = facts.read_text(encoding="utf-8")
    start = text.index("  - id: timeline_period")
    block = text[start:text.index("    quotes:", start)]
    flow_keys = '    keys: {en: ["What period?"], fi: ["Mikä kausi?"]}\n'
    flow = re.sub(r"    keys:\n(      .*\n|        .*\n)+", flow_keys, block)
    facts.write_text(text.replace(block, flow), encoding="utf-8")
    assert load_knowledge(knowledge).facts["timeline_period"].keys["en"] == ["What period?"]
    before = snapshot(knowledge, cases)
    writer = KnowledgeWriter(knowledge, cases, NLU_DIR)
    with pytest.raises(KnowledgeChangeRefused, match="not written as a block"), writer.locked():
        writer.plan_fact("timeline_period", [q("for how many years is it valid")], "g", "t")
    assert snapshot(knowledge, cases) == before


def test_a_file_changed_after_planning_is_not_overwritten(knowledge: Path, cases: Path) -> None:
    writer = KnowledgeWriter(knowledge, cases, NLU_DIR)
    change = writer.plan_fact("about_goal", [q("what will the region look like once the strategy is done")], "g", "t")
    (knowledge / "facts.yml").write_text((knowledge / "facts.yml").read_text(encoding="utf-8") + "\n# edited\n",
                                         encoding="utf-8")
    before = snapshot(knowledge, cases)
    with pytest.raises(KnowledgeChangeRefused, match="changed while the decision was made"):
        writer.apply(change)
    assert snapshot(knowledge, cases) == before


def test_insertion_into_facts_without_keys_or_without_a_language() -> None:
    source = (
        "facts:\n"
        "  - id: a\n"
        "    topic: about\n"
        "    quotes:\n"
        "      - text: x\n"
        "\n"
        "  # --- next section\n"
        "  - id: b\n"
        "    keys:\n"
        "      en:\n"
        "        - one\n"
        "        # a comment kept in place\n"
        "    quotes: []\n"
    )
    out = insert_keys(insert_keys(source, "a", {"en": ["new a"]}), "b", {"fi": ["uusi b"], "en": ["two"]})
    data = yaml.safe_load(out)
    assert data["facts"][0]["keys"] == {"en": ["new a"]}
    assert data["facts"][1]["keys"] == {"en": ["one", "two"], "fi": ["uusi b"]}
    assert "  # --- next section\n  - id: b\n" in out and "        # a comment kept in place\n" in out
    assert out.index("    keys:\n      en:\n        - new a\n") < out.index("    quotes:\n      - text: x")


@pytest.mark.parametrize("text", ["plain question", "yes", "2021", "a: b", "# not a comment", "ends with #tag",
                                  "'quoted'", '"double"', "- dash", "tab\there", "null", "{x}", "ÄÖ é"])
def test_a_key_reads_back_as_typed(text: str) -> None:
    assert yaml.safe_load(f"- {yaml_scalar(text)}") == [text]


def test_every_fact_has_a_phrase_of_its_own_that_its_text_matches(knowledge: Path) -> None:
    loaded = load_knowledge(knowledge)
    for fact in loaded.facts.values():
        for lang, text in fact.text.items():
            phrase = distinctive_phrase(fact, lang, loaded)
            assert phrase is not None, (fact.id, lang)
            # "KYMRIS3_esite_eng.pdf": the words are split at "_" as well, and the phrase still matches.
            assert re.search(phrase, text, re.IGNORECASE), (fact.id, lang, phrase)
            others = [t for f in loaded.facts.values() if f.id != fact.id for t in f.text.values()]
            assert not any(re.search(phrase, t, re.IGNORECASE) for t in others), (fact.id, lang, phrase)
