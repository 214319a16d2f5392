"""Which questions come to the Review queue and what each group says about them (the fake embedder; grouping
by meaning with the real model: test_grouping.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from review_helpers import NOW, WordsEmbedder, decision, declined, turn

from bot.analytics.review import (
    ASKED_BACK,
    DECLINED,
    HANDOFF,
    HEDGED,
    LOW_CONFIDENCE,
    NOT_HELPFUL,
    TRY_SENDER_PREFIX,
    ReviewQuestion,
    collect_questions,
    flagged_turns,
    group_id,
    group_questions,
    normalise,
    question_hash,
)


def threshold(language: str) -> float:
    return {"en": 0.6, "fi": 0.7}[language]


def reasons_of(turns: list) -> dict[str, list[str]]:
    return {t.text: reasons for t, reasons in flagged_turns(turns, threshold)}


def test_declined_hedged_and_low_confidence_turns_come_to_the_queue() -> None:
    turns = [
        declined("how many jobs did the strategy create"),
        turn("is there a budget", outcome=decision(True, "funding_amounts", confidence=0.45, hedged=True)),
        turn("tell me the aims", outcome=decision(True, "about_aims", confidence=0.55)),  # below en's 0.6
        turn("what is ris3", outcome=decision(True, "about_what", confidence=0.95)),
        turn("mitkä ovat tavoitteet", language="fi", outcome=decision(True, "about_aims", 0.65, language="fi")),
        turn("kerro hankkeesta", language="fi", outcome=decision(True, "project_overview", 0.75, language="fi")),
        turn("rules decided", outcome=decision(True, "about_what", confidence=None)),  # no model: not judged
    ]
    assert reasons_of(turns) == {
        "how many jobs did the strategy create": [DECLINED],
        "is there a budget": [HEDGED],
        "tell me the aims": [LOW_CONFIDENCE],
        "mitkä ovat tavoitteet": [LOW_CONFIDENCE],  # 0.65 is below Finnish's 0.7
    }


def test_a_question_asked_back_comes_to_the_queue() -> None:
    # Issue 23: not sure enough to answer, the bot asks "Do you mean …?"; staff see the question in Review. A
    # follow-up the bot asked "which one?" about (a list's item) is not a doubt of the knowledge.
    turns = [
        turn("who paid for it", outcome=decision(False, "project_funding", 0.5, kind="choose", how="ask back")),
        turn("the second one", outcome=decision(False, None, None, kind="choose", how="ordinal 'second'")),
        replace(turn("kuka rahoitti", language="fi", outcome=decision(
            False, "project_funding", 0.5, kind="choose", how="ask back", language="fi")), helpful=False),
    ]
    assert reasons_of(turns) == {"who paid for it": [ASKED_BACK], "kuka rahoitti": [NOT_HELPFUL, ASKED_BACK]}


def test_buttons_payloads_questions_back_and_the_try_box_are_not_questions() -> None:
    turns = [
        turn('/answer_fact{"fact_id":"about_what"}', button=True, outcome=decision(False)),
        turn("/affirm", outcome=decision(False)),
        turn("the project", outcome=decision(False, kind="choose")),
        turn("hello"),  # no decision at all
        declined("what is the weather", conversation=f"rest:{TRY_SENDER_PREFIX}abc"),
        declined("what is the weather in Kotka", conversation="rest:script-1"),
    ]
    assert reasons_of(turns) == {"what is the weather in Kotka": [DECLINED]}


def test_a_handoff_is_put_down_to_the_last_question_before_it() -> None:
    earlier = NOW - timedelta(minutes=5)
    turns = [
        turn("what is ris3", "web:a", at=earlier - timedelta(minutes=1), outcome=decision(True, confidence=0.99)),
        turn("can the council fund my company", "web:a", at=earlier, outcome=decision(True, "about_aims", 0.9)),
        turn("I want to talk to a person", "web:a", at=NOW, handoff=True),
        # Another conversation's question is not this handoff's.
        declined("what is the weather", "web:b", at=earlier),
        # Too long before: the handoff is about something else.
        turn("what is the timeline", "web:c", at=NOW - timedelta(hours=2), outcome=decision(True, confidence=0.99)),
        turn("a person please", "web:c", at=NOW, handoff=True),
        # A question that was declined and then handed off keeps both reasons.
        declined("how much money did Kotka get", "web:d", at=earlier),
        turn("yes, a person", "web:d", at=NOW, handoff=True),
    ]
    assert reasons_of(turns) == {
        "can the council fund my company": [HANDOFF],
        "what is the weather": [DECLINED],
        "how much money did Kotka get": [DECLINED, HANDOFF],
    }


def test_questions_typed_alike_are_one_question_with_its_count_times_languages_and_channels() -> None:
    first, last = NOW - timedelta(days=3), NOW - timedelta(hours=1)
    turns = [
        declined("How many jobs did the strategy create?", "web:a", at=first),
        declined("how many jobs did the strategy create", "telegram:b", at=NOW - timedelta(days=1)),
        declined("HOW MANY JOBS DID THE STRATEGY CREATE!!", "rest:c", at=last),
        declined("kuinka monta työpaikkaa", "web:d", language="fi"),
    ]
    questions = {q.normalised: q for q in collect_questions(turns, threshold)}
    jobs = questions["how many jobs did the strategy create"]
    assert jobs.count == 3 and jobs.first_seen == first and jobs.last_seen == last
    assert dict(jobs.channels) == {"web": 1, "telegram": 1, "rest": 1}
    assert jobs.language == "en" and dict(jobs.reasons) == {DECLINED: 3}
    assert dict(jobs.closest) == {"about_what": 3}  # the bot's own closest item
    assert questions["kuinka monta työpaikkaa"].language == "fi"


def test_decided_questions_do_not_come_back() -> None:
    turns = [declined("how many jobs did the strategy create"), declined("what is the weather in Kotka")]
    decided = {question_hash(normalise("How many jobs did the strategy create?"))}
    assert [q.text for q in collect_questions(turns, threshold, decided)] == ["what is the weather in Kotka"]


def test_a_question_with_contact_details_is_flagged() -> None:
    question = ReviewQuestion("call me on 040 123 4567 about the strategy", "x")
    assert question.contact_details
    assert not ReviewQuestion("what is the strategy about", "y").contact_details


def _questions(*texts: str) -> list[ReviewQuestion]:
    found = []
    for number, text in enumerate(texts):
        question = ReviewQuestion(text, normalise(text))
        question.add(declined(text, at=NOW - timedelta(minutes=number)), [DECLINED])
        found.append(question)
    return found


def test_groups_their_ids_and_order() -> None:
    embed = WordsEmbedder().queries
    questions = _questions(
        "is there a brochure in english", "is there a brochure in english please", "what is the weather in kotka"
    )
    questions[2].add(declined("what is the weather in kotka"), [DECLINED])  # asked twice: its group comes first
    groups = group_questions(questions, embed)
    assert [[q.text for q in g.questions] for g in groups] == [
        ["what is the weather in kotka"],
        ["is there a brochure in english", "is there a brochure in english please"],
    ]
    assert [g.count for g in groups] == [2, 2]
    # The id names exactly the questions: the same ones in another order give the same id, one more another id.
    again = group_questions(list(reversed(questions)), embed)
    assert [g.id for g in again] == [g.id for g in groups]
    assert group_id(groups[1].questions) == groups[1].id
    assert group_id([*groups[1].questions, questions[2]]) != groups[1].id
    data = groups[1].as_json(["about_what"])
    assert data["count"] == 2 and data["closest_facts"] == [{"fact": "about_what", "count": 2}]
    assert [q["text"] for q in data["questions"]] == [q.text for q in groups[1].questions]
