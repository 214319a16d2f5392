"""Replies built from retrieval decisions, checked against the real knowledge and domain.yml."""

from __future__ import annotations

import re
import shutil
import string
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.replies import (
    Button,
    Reply,
    choice_reply,
    dont_know_reply,
    fact_payload,
    fact_reply,
    menu_buttons,
    phone_buttons,
    reply_for,
)
from bot.knowledge.retrieval import Candidate, Decision
from bot.knowledge.service import KnowledgeService
from bot.knowledge.store import KnowledgeError, load_sources

REPO = Path(__file__).resolve().parents[2]
LANG = "en"
CONTACT_NAME = "Petri Tolmunen"
CONTACT_PHONE = "+358 44 747 8512"


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def response_placeholders(domain: dict[str, Any], response: str) -> set[str]:
    return {name for variant in domain["responses"][response] for name in placeholders(variant.get("text") or "")}


def fact_decision(fact_id: str, not_named: list[str] | None = None) -> Decision:
    best = Candidate(fact_id, "fact", None, 0.95, 0.5, 0.97)
    return Decision(True, "answer", best, [best], list(not_named or []), not_named=list(not_named or []))


def passage_decision(index: KnowledgeIndex) -> tuple[str, Decision]:
    passage_id = next(iter(index.passages))
    best = Candidate(passage_id, "passage", None, 0.95, 0.5, 0.97)
    return passage_id, Decision(True, "answer", best, [best])


# --- facts -----------------------------------------------------------------------------------


def test_fact_payload_format() -> None:
    assert fact_payload("contact_email") == '/answer_fact{"fact_id":"contact_email"}'


def test_fact_reply_for_the_priorities(index: KnowledgeIndex) -> None:
    reply = fact_reply(index, "priorities_all", LANG)
    assert reply.response == "utter_answer"
    assert reply.answered is True
    assert reply.fact_id == "priorities_all"
    assert reply.variables["answer"] == index.facts["priorities_all"].text["en"]
    source = reply.variables["source"]
    for part in ("Kymenlaakso's Smart Specialisation RIS3 Strategy", "Kymenlaakson liitto", "12.01.2021"):
        assert part in source
    assert [b.payload for b in reply.buttons] == [
        '/answer_fact{"fact_id":"priority_logistics"}',
        '/answer_fact{"fact_id":"priority_renewables"}',
        '/answer_fact{"fact_id":"priority_digital"}',
    ]
    assert [b.title for b in reply.buttons] == [
        "Smart and green logistics",
        "Renewable materials and energy",
        "Data economy, cyber security and gamification",
    ]


def test_fact_reply_for_every_fact(index: KnowledgeIndex) -> None:
    for fact_id, fact in index.facts.items():
        reply = fact_reply(index, fact_id, LANG)
        assert reply.response == "utter_answer", fact_id
        assert set(reply.variables) == {"answer", "source"}, fact_id
        assert reply.variables["answer"] == fact.text["en"], fact_id
        source = index.knowledge.sources[reply.source_id]
        assert source.id == fact.quotes[0].source, fact_id
        for part in (source.title, source.publisher, source.updated):
            assert part in reply.variables["source"], fact_id
        # The links first (by default only the phone numbers the answer gives), then the follow-ups.
        assert reply.buttons == phone_buttons(fact.text["en"]) + [
            Button(index.facts[f].title["en"], f'/answer_fact{{"fact_id":"{f}"}}') for f in fact.follow_ups
        ], fact_id
        assert reply.fact_id == fact_id
        assert reply.answered is True


def test_reply_for_a_fact_decision_is_the_fact_reply(index: KnowledgeIndex) -> None:
    assert reply_for(fact_decision("timeline_period"), index, LANG) == fact_reply(index, "timeline_period", LANG)


def test_not_named_reply_quotes_the_words(index: KnowledgeIndex) -> None:
    reply = reply_for(fact_decision("priorities_all", ["tourism"]), index, LANG)
    assert reply.response == "utter_not_named"
    assert reply.variables["words"] == "“tourism”"
    assert reply.variables["answer"] == index.facts["priorities_all"].text["en"]
    assert "Kymenlaakson liitto" in reply.variables["source"]
    assert reply.fact_id == "priorities_all"
    assert reply.answered is True


def test_not_named_reply_quotes_each_of_several_words(index: KnowledgeIndex) -> None:
    reply = reply_for(fact_decision("priorities_all", ["tourism", "healthcare"]), index, LANG)
    assert reply.response == "utter_not_named"
    assert reply.variables["words"] == "“tourism”, “healthcare”"


def test_not_named_from_real_retrieval(index: KnowledgeIndex, service: KnowledgeService) -> None:
    decision = service.retriever.decide("is tourism one of the priorities?", "ask_priorities", 0.9)
    reply = reply_for(decision, index, LANG)
    assert reply.response == "utter_not_named"
    assert "“tourism”" in reply.variables["words"]
    assert reply.fact_id == "priorities_all"


# --- don't know, passages, menu --------------------------------------------------------------


def test_menu_buttons_follow_the_knowledge_menu(index: KnowledgeIndex) -> None:
    buttons = menu_buttons(index, LANG)
    assert index.knowledge.menu, "the knowledge has no menu"
    assert [b.payload for b in buttons] == [fact_payload(f) for f in index.knowledge.menu]
    assert [b.title for b in buttons] == [index.facts[f].title["en"] for f in index.knowledge.menu]


def test_dont_know_reply_gives_the_contact_and_the_menu(index: KnowledgeIndex) -> None:
    reply = dont_know_reply(index, LANG)
    assert reply.response == "utter_dont_know"
    contact = reply.variables["contact"]
    assert contact == index.facts[index.knowledge.contact].text["en"]
    assert CONTACT_NAME in contact
    assert CONTACT_PHONE in contact
    assert reply.buttons == [Button(CONTACT_PHONE, url="tel:+358447478512"), *menu_buttons(index, LANG)]
    assert reply.answered is False


@pytest.mark.parametrize(
    "decision",
    [
        pytest.param(Decision(False, "no content words", None), id="no-candidate"),
        pytest.param(Decision(False, "below", Candidate("about_what", "fact", "about", 0.8, 0.0, 0.8)), id="too-weak"),
        pytest.param(Decision(True, "inconsistent", None), id="answer-without-best"),
    ],
)
def test_reply_for_an_unanswered_decision_is_dont_know(index: KnowledgeIndex, decision: Decision) -> None:
    assert reply_for(decision, index, LANG) == dont_know_reply(index, LANG)


def test_passage_reply_quotes_the_passage(index: KnowledgeIndex) -> None:
    passage_id, decision = passage_decision(index)
    passage = index.passages[passage_id]
    reply = reply_for(decision, index, LANG)
    assert reply.response == "utter_passage"
    assert reply.variables["answer"] == passage.text
    source = index.knowledge.sources[passage.source]
    assert reply.source_id == source.id
    for part in (source.title, source.publisher, source.updated):
        assert part in reply.variables["source"]
    assert reply.buttons == phone_buttons(passage.text) + menu_buttons(index, LANG)
    assert reply.answered is True
    assert reply.fact_id is None


# --- against domain.yml ----------------------------------------------------------------------


def test_response_names_in_the_code_exist_in_the_domain(domain: dict[str, Any]) -> None:
    used: set[str] = set()
    for path in (REPO / "bot" / "knowledge" / "replies.py", REPO / "actions" / "actions.py"):
        used |= set(re.findall(r"[\"'](utter_[a-z_]+)[\"']", path.read_text(encoding="utf-8")))
    assert {"utter_answer", "utter_not_named", "utter_dont_know", "utter_passage"} <= used
    assert used <= set(domain["responses"]), sorted(used - set(domain["responses"]))


def _all_replies(index: KnowledgeIndex) -> list[Reply]:
    replies = [fact_reply(index, f, LANG) for f in index.facts]
    replies.append(reply_for(fact_decision("priorities_all", ["tourism"]), index, LANG))
    replies.append(reply_for(passage_decision(index)[1], index, LANG))
    replies.append(dont_know_reply(index, LANG))
    replies.append(reply_for(Decision(False, "test", None), index, LANG))
    yes = fact_decision("priority_logistics", [])
    yes.yes_no, yes.named = True, ["logistics"]
    replies.append(reply_for(yes, index, LANG))
    replies.append(choice_reply(index, index.knowledge.menu, LANG, "utter_which_one"))
    replies.append(choice_reply(index, index.knowledge.menu, LANG, "utter_what_else"))
    replies.append(choice_reply(index, ["contact_project_manager", "contact_phone"], LANG, "utter_did_you_mean",
                                none_of_these=True))
    return replies


def test_replies_fill_every_placeholder_of_their_response(index: KnowledgeIndex, domain: dict[str, Any]) -> None:
    responses = set()
    for reply in _all_replies(index):
        assert reply.response in domain["responses"], reply.response
        missing = response_placeholders(domain, reply.response) - set(reply.variables)
        assert not missing, f"{reply.response} needs {sorted(missing)}, the reply gives {sorted(reply.variables)}"
        for name, value in reply.variables.items():
            assert isinstance(value, str) and value.strip(), (reply.response, name)
        responses.add(reply.response)
    assert responses == {
        "utter_answer", "utter_not_named", "utter_passage", "utter_dont_know", "utter_yes_named", "utter_which_one",
        "utter_what_else", "utter_did_you_mean",
    }


def test_domain_placeholders_are_the_known_ones(domain: dict[str, Any]) -> None:
    # Every placeholder in the domain is one that some reply provides; a typo ({anwser}) would
    # otherwise be sent to the user verbatim.
    provided = {"answer", "source", "words", "contact", "priority", "subject"}
    # The handoff's actions (actions/handoff.py) fill these.
    provided |= {"draft", "days", "name", "question", "reference", "status", "when", "email_note", "notice"}
    # actions/group_chat.py: the link to a private chat on Telegram.
    provided |= {"link"}
    # bot/knowledge/currency.py: where today stands against the knowledge's period.
    provided |= {"period", "first", "last", "updated"}
    # bot/knowledge/replies.py: a document the answer names without a known address.
    provided |= {"files"}
    used = {name for response in domain["responses"] for name in response_placeholders(domain, response)}
    assert used <= provided, sorted(used - provided)
    assert response_placeholders(domain, "utter_answer") == {"answer", "source"}
    assert response_placeholders(domain, "utter_passage") == {"answer", "source"}
    assert response_placeholders(domain, "utter_not_named") == {"words", "answer", "source"}
    assert response_placeholders(domain, "utter_dont_know") == {"contact"}


# Issue 23: "Where can I get the strategy as a PDF?" named a file the user could not open (knowledge/sources.yml
# gives no address for it). The answer now says that no link can be given, and who to ask.
@pytest.mark.parametrize("lang", ["en", "fi"])
def test_a_document_without_an_address_is_said_to_have_no_link(index: KnowledgeIndex, lang: str) -> None:
    with_documents = [f for f in index.facts.values() if f.documents]
    assert with_documents, "no fact names a document"
    for fact in with_documents:
        reply = fact_reply(index, fact.id, lang)
        unlinked = [index.knowledge.documents[d] for d in fact.documents if not index.knowledge.documents[d].url]
        notes = [v for r, v in reply.notes if r == "utter_document_without_link"]
        if unlinked:
            assert notes and all(d.name in notes[0]["files"] for d in unlinked), reply
            assert "8512" in notes[0]["contact"]
        else:
            assert not notes
            assert any(b.url for b in reply.buttons)


# Issue 25 item 12: a Finnish answer's source line named the English page by its English title as if it were
# Finnish. The page gives no Finnish title, so the line says the title is the page's English one.
def test_a_finnish_answer_says_the_sources_title_is_english(index: KnowledgeIndex) -> None:
    finnish = fact_reply(index, "priorities_all", "fi").variables["source"]
    assert finnish == ("sivu »Kymenlaakso's Smart Specialisation RIS3 Strategy« (englanninkielinen otsikko; "
                       "Kymenlaakson liitto, 12.01.2021)")
    english = fact_reply(index, "priorities_all", "en").variables["source"]
    assert english == "Kymenlaakso's Smart Specialisation RIS3 Strategy (Kymenlaakson liitto, 12.01.2021)"


def test_a_title_in_another_language_comes_only_from_the_source(tmp_path: Path) -> None:
    root = tmp_path / "knowledge"
    repository_knowledge = Path(__file__).resolve().parents[2] / "knowledge"
    shutil.copytree(repository_knowledge, root, ignore=shutil.ignore_patterns("index", "drafts"))
    meta = yaml.safe_load((root / "sources.yml").read_text(encoding="utf-8"))
    meta["sources"][0]["titles"] = {"fi": "Kymenlaakson älykkään erikoistumisen strategia"}  # not on the page
    (root / "sources.yml").write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="the fi title"):
        load_sources(root)
