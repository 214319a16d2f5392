"""Reference resolution on its own: ordinals, pronouns, ellipsis, "tell me more", "what else" and the
question back when the reference is ambiguous. Uses only the knowledge files (no model)."""

from __future__ import annotations

import pytest

from bot.knowledge.followup import ConversationState, ellipsis, is_more_request, is_what_else, ordinal, pronoun, resolve
from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.store import Knowledge

PRIORITIES = ("priority_logistics", "priority_renewables", "priority_digital")
AFTER_PRIORITIES = ConversationState("priorities_all", PRIORITIES)


@pytest.fixture(scope="module")
def knowledge(index: KnowledgeIndex) -> Knowledge:
    return index.knowledge


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("tell me more about the second one", 1),
        ("the last one", -1),
        ("What about the 3rd?", 2),
        ("first", 0),
        ("number 2 please", 1),
        ("option three", 2),
        ("2", 1),
        ("3.", 2),
        ("kerro lisää ensimmäisestä", 0),
        ("toinen", 1),
        ("entä viimeinen?", -1),
        ("kolmannesta painopisteestä lisää", 2),
        ("tokasta", 1),
        ("kohta 2", 1),
    ],
)
def test_ordinals(text: str, position: int) -> None:
    found = ordinal(text)
    assert found is not None and found[0] == position


@pytest.mark.parametrize(
    "text",
    [
        "when was the strategy last updated?",
        "what was the last update of the page",
        "is it the first strategy of the region?",
        "haluan esittää toisen kysymyksen aikataulusta",
        "milloin sivua on viimeksi päivitetty",
        "what are the priorities for 2021-2025",
        "viimeisin päivitys",
    ],
)
def test_words_that_are_not_references(text: str) -> None:
    assert ordinal(text) is None


def test_an_ordinal_picks_from_what_was_listed(knowledge: Knowledge) -> None:
    for text, fact in [("tell me more about the second one", "priority_renewables"), ("the last", "priority_digital"),
                       ("kerro lisää ensimmäisestä", "priority_logistics"), ("3", "priority_digital")]:
        resolution = resolve(text, AFTER_PRIORITIES, knowledge, "en")
        assert (resolution.kind, resolution.fact_id) == ("fact", fact), text


def test_an_ordinal_with_a_question_about_the_item_is_rewritten(knowledge: Knowledge) -> None:
    resolution = resolve("what does the second one mean for companies?", AFTER_PRIORITIES, knowledge, "en")
    assert resolution.kind == "rewrite"
    assert "renewable materials and energy" in (resolution.question or "").casefold()
    assert "companies" in (resolution.question or "")


def test_an_ordinal_out_of_range_asks_which(knowledge: Knowledge) -> None:
    resolution = resolve("the fifth one", AFTER_PRIORITIES, knowledge, "en")
    assert resolution.kind == "choose" and resolution.options == PRIORITIES


def test_an_ordinal_with_nothing_listed_asks_among_the_topics(knowledge: Knowledge) -> None:
    resolution = resolve("number 8", ConversationState(), knowledge, "en")
    assert resolution.kind == "choose" and resolution.options == knowledge.menu
    second = resolve("the second one", ConversationState(), knowledge, "en")
    assert second.kind == "fact" and second.fact_id == knowledge.menu[1]


def test_personal_pronouns_mean_the_project_manager(knowledge: Knowledge) -> None:
    resolution = resolve("what's his phone number?", ConversationState("contact_project_manager"), knowledge, "en")
    assert resolution.kind == "rewrite" and "project manager" in (resolution.question or "")
    finnish = resolve("mikä hänen numeronsa on?", ConversationState("contact_project_manager"), knowledge, "fi")
    assert "projektipäällikkö" in (finnish.question or "")


def test_it_means_the_last_answers_subject(knowledge: Knowledge) -> None:
    resolution = resolve("who funded it?", ConversationState("project_overview"), knowledge, "en")
    assert resolution.question == "who funded the KymÄES 2.0 project?"
    finnish = resolve("kuka sen rahoitti?", ConversationState("project_overview"), knowledge, "fi")
    assert "KymÄES 2.0 -hanke" in (finnish.question or "")
    priority = resolve("what does it include?", ConversationState("priority_digital"), knowledge, "en")
    assert "gamification" in (priority.question or "")


def test_a_determiner_is_not_a_reference(knowledge: Knowledge) -> None:
    assert pronoun("what is this strategy about?") is None
    assert pronoun("who paid for that?") == ("that", False)
    resolution = resolve("what is this strategy about?", ConversationState("project_overview"), knowledge, "en")
    assert resolution.kind == "none"


def test_ellipsis_adds_the_last_subject(knowledge: Knowledge) -> None:
    assert ellipsis("entä Kotkan osoite?") == "Kotkan osoite?"
    assert ellipsis("And the funding?") == "the funding?"
    assert ellipsis("and?") is None
    resolution = resolve("and the funding?", ConversationState("project_overview"), knowledge, "en")
    assert resolution.kind == "rewrite" and "funding" in (resolution.question or "")
    assert "KymÄES" in (resolution.question or "")


def test_tell_me_more_after_a_list_asks_which(knowledge: Knowledge) -> None:
    assert is_more_request("tell me more") and is_more_request("kerro lisää siitä")
    assert not is_more_request("tell me more about the funding")
    resolution = resolve("tell me more", AFTER_PRIORITIES, knowledge, "en")
    assert resolution.kind == "choose" and resolution.options == PRIORITIES


def test_tell_me_more_after_one_fact_gives_the_next_of_its_topic(knowledge: Knowledge) -> None:
    resolution = resolve("kerro lisää", ConversationState("project_overview"), knowledge, "fi")
    assert resolution.kind == "fact" and knowledge.facts[resolution.fact_id or ""].topic == "project"


def test_what_else_offers_other_topics(knowledge: Knowledge) -> None:
    assert is_what_else("what else?") and is_what_else("mitä muuta?")
    assert not is_what_else("what else does the strategy say about logistics?")
    resolution = resolve("mitä muuta?", ConversationState("project_overview"), knowledge, "fi")
    assert resolution.kind == "what_else"
    assert "project_overview" not in resolution.options and "priorities_all" in resolution.options


def test_without_a_previous_answer_a_pronoun_is_left_alone(knowledge: Knowledge) -> None:
    assert resolve("who funded it?", ConversationState(), knowledge, "en").kind == "none"
    assert resolve("What are the priorities?", AFTER_PRIORITIES, knowledge, "en").kind == "none"


# Issue 25 item 9: "tell me more" after one priority repeated its one-line fact; the other priorities are not
# more about it. The knowledge has nothing beyond the line: that is said, and its follow-ups are offered.
@pytest.mark.parametrize("lang", ["en", "fi"])
def test_tell_me_more_after_an_item_of_a_list_says_that_is_all(knowledge: Knowledge, lang: str) -> None:
    more = "tell me more" if lang == "en" else "kerro lisää"
    resolution = resolve(more, ConversationState("priority_logistics", PRIORITIES[1:]), knowledge, lang)
    assert resolution.kind == "all_said" and resolution.fact_id == "priority_logistics"
    assert resolution.options == knowledge.facts["priority_logistics"].follow_ups
