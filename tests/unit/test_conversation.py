"""Turns of a conversation with the real index and model: follow-ups, questions inside context,
membership and time questions, read as bot.knowledge.conversation reads them."""

from __future__ import annotations

import pytest

from bot.knowledge.conversation import Turn, answer_turn
from bot.knowledge.followup import ConversationState
from bot.knowledge.retrieval import Retriever


def talk(retriever: Retriever, lang: str, *messages: str) -> list[Turn]:
    """Each message answered after the previous ones, the state carried as the action carries it."""
    state = ConversationState()
    turns = []
    for message in messages:
        turn = answer_turn(retriever, message, state, lang)
        turns.append(turn)
        best = turn.decision.best if turn.decision and turn.decision.answer else None
        if best is not None and best.kind == "fact":
            fact = retriever.index.facts[best.item]
            state = ConversationState(fact.id, fact.lists or fact.follow_ups)
        elif turn.options:
            state = ConversationState(state.last_fact, turn.options)
    return turns


def answered(turn: Turn) -> str | None:
    if turn.kind != "answer" or turn.decision is None or not turn.decision.answer or turn.decision.best is None:
        return None
    return turn.decision.best.item


@pytest.mark.parametrize(
    ("lang", "messages", "fact"),
    [
        ("en", ["What are the priorities?", "tell me more about the second one"], "priority_renewables"),
        ("fi", ["Mitkä ovat painopisteet?", "kerro lisää ensimmäisestä"], "priority_logistics"),
        ("fi", ["Mitkä ovat painopisteet?", "entä viimeinen?"], "priority_digital"),
        ("en", ["Who is the project manager?", "what's his phone number?"], "contact_project_manager"),
        ("en", ["What is the KymÄES 2.0 project?", "and its full name?"], "project_name"),
        ("fi", ["Mitkä ovat liiton osoitteet?", "entä Kotkan osoite?"], "contact_addresses"),
    ],
)
def test_follow_ups(retriever: Retriever, lang: str, messages: list[str], fact: str) -> None:
    assert answered(talk(retriever, lang, *messages)[-1]) == fact


def test_who_funded_it_is_answered_about_the_project(retriever: Retriever) -> None:
    last = talk(retriever, "en", "What is the KymÄES 2.0 project?", "who funded it?")[-1]
    assert answered(last) in {"project_funding", "project_overview"}


def test_tell_me_more_after_the_list_asks_which(retriever: Retriever) -> None:
    last = talk(retriever, "en", "What are the priorities?", "tell me more")[-1]
    assert last.kind == "choose" and len(last.options) == 3


def test_the_question_at_the_end_of_a_long_message(retriever: Retriever) -> None:
    message = (
        "Hello, I represent a municipality in northern Kymenlaakso and we are preparing our own development plan "
        "for the next years, so I would like to know which themes the regional strategy prioritises."
    )
    assert answered(talk(retriever, "en", message)[0]) == "priorities_all"


def test_my_sector_named_by_a_priority_gets_yes(retriever: Retriever) -> None:
    turn = talk(retriever, "en", "I run a logistics SME in Kotka. Is my sector among the region's focus areas?")[0]
    assert answered(turn) == "priority_logistics"
    assert turn.decision is not None and turn.decision.yes_no and turn.decision.named == ["logistics"]


@pytest.mark.parametrize(
    ("lang", "message", "word"),
    [
        ("en", "does the strategy cover ports?", "ports"),
        ("en", "We are a tourism company in Kotka. Is my sector among the region's focus areas?", "tourism"),
        ("fi", "kuuluuko matkailu painopisteisiin?", "matkailu"),
    ],
)
def test_a_theme_not_named_gets_the_list(retriever: Retriever, lang: str, message: str, word: str) -> None:
    turn = talk(retriever, lang, message)[0]
    assert answered(turn) == "priorities_all"
    assert turn.decision is not None and turn.decision.not_named == [word]


@pytest.mark.parametrize(
    ("lang", "message", "fact"),
    [
        ("en", "What happened in autumn 2020?", "timeline_update"),
        ("fi", "Mitä tapahtui syksyllä 2020?", "timeline_update"),
        ("en", "What happens during 2021?", "timeline_overview"),
    ],
)
def test_time_questions(retriever: Retriever, lang: str, message: str, fact: str) -> None:
    assert answered(talk(retriever, lang, message)[0]) == fact


def test_a_time_the_page_does_not_speak_of(retriever: Retriever) -> None:
    turn = talk(retriever, "en", "What happened in 2018?")[0]
    assert turn.kind == "answer" and answered(turn) is None


@pytest.mark.parametrize(("lang", "message"), [
    # Within the period, but the page names nothing that happens then: the period's fact does not answer.
    ("en", "What is going on in 2024?"),
    # Asked of a time, about something the page does not give (issue 23: these got the period's fact).
    ("en", "how many jobs did the strategy create in 2023"),
    ("fi", "mitkä ovat vuoden 2027 strategian painopisteet"),
])
def test_a_time_does_not_make_the_timeline_the_answer(retriever: Retriever, lang: str, message: str) -> None:
    turn = talk(retriever, lang, message)[0]
    assert turn.kind == "answer" and answered(turn) is None


def test_context_does_not_make_a_self_contained_question_a_follow_up(retriever: Retriever) -> None:
    last = talk(retriever, "en", "What is the KymÄES 2.0 project?", "What are the priorities?")[-1]
    assert answered(last) == "priorities_all"
