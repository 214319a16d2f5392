"""Decisions on the Review queue, stored in SQLite and PostgreSQL: who and when, the group leaving the queue, two
staff deciding the same group at once, and a decision whose change fails leaving no trace."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from review_helpers import MakeDesk, declined, turn

from bot.analytics.review import (
    FACT,
    NEW_FACT,
    OUT_OF_SCOPE,
    AlreadyDecided,
    GroupNotFound,
    KnowledgeChangeRefused,
    ReviewDesk,
    ReviewError,
)
from tests.postgres import scratch_database, url_of

TURNS = [
    declined("is there a swedish brochure", "web:a"),
    declined("is there a swedish brochure please", "telegram:b"),
    declined("what is the weather in kotka", "web:c"),
    declined("what is the weather in kotka", "web:d"),
    turn("mikä on kouvolan väkiluku", "web:e", language="fi", outcome={"kind": "answer", "answered": False}),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'decisions.db'}"
        return
    with scratch_database("ris3_review") as (_, name):
        yield url_of(name)


def group_of(desk: ReviewDesk, text: str, turns: list = TURNS) -> Any:
    return next(g for g in desk.groups(turns) if any(q.text == text for q in g.questions))


def test_a_decision_records_who_and_when_and_the_group_leaves_the_queue(make_desk: MakeDesk, database_url: str) -> None:
    desk = make_desk(database_url=database_url)
    groups = desk.groups(TURNS)
    assert sorted(len(g.questions) for g in groups) == [1, 1, 2]
    weather = group_of(desk, "what is the weather in kotka")
    record = desk.decide(groups, weather.id, OUT_OF_SCOPE, "aino", note="  not the council's business ")
    assert (record.decided_by, record.decision, record.note, record.fact_id) == ("aino", OUT_OF_SCOPE,
                                                                                 "not the council's business", None)
    assert record.questions == [{"text": "what is the weather in kotka", "language": "en", "count": 2}]
    stored = desk.store.by_group(weather.id)
    assert stored is not None and stored.decided_by == "aino"
    assert abs((stored.decided_at - record.decided_at).total_seconds()) < 1
    assert weather.id not in [g.id for g in desk.groups(TURNS)]
    # Asked again later, even with another question that joins it, the decided question does not come back.
    later = [*TURNS, declined("What is the weather in Kotka?!", "web:f"), declined("is the weather in kotka nice")]
    assert all(q.normalised != "what is the weather in kotka" for g in desk.groups(later) for q in g.questions)
    assert [r.group_id for r in desk.store.recent()] == [weather.id]


def test_two_staff_deciding_the_same_group_at_once(make_desk: MakeDesk, database_url: str) -> None:
    """Two back offices (desks) on one database and one knowledge folder: one decision wins, the other is told
    who made it; the knowledge gets the keys once."""
    first, second = make_desk(database_url=database_url), make_desk(database_url=database_url)
    first.store.ensure_schema()
    groups = first.groups(TURNS)
    brochure = group_of(first, "is there a swedish brochure")
    results: dict[str, Any] = {}
    start = threading.Barrier(2)

    def decide(desk: ReviewDesk, who: str) -> None:
        start.wait()
        try:
            results[who] = desk.decide(groups, brochure.id, FACT, who, fact_id="brochure_english")
        except AlreadyDecided as exc:
            results[who] = exc

    threads = [threading.Thread(target=decide, args=(desk, who)) for desk, who in ((first, "aino"), (second, "pekka"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    won = [who for who, result in results.items() if not isinstance(result, Exception)]
    lost = [result for result in results.values() if isinstance(result, AlreadyDecided)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].record.decided_by == won[0] and f"already decided by {won[0]}" in str(lost[0])
    keys = yaml.safe_load((first.config.knowledge_dir / "facts.yml").read_text(encoding="utf-8"))
    brochure_keys = next(f for f in keys["facts"] if f["id"] == "brochure_english")["keys"]["en"]
    assert brochure_keys.count("is there a swedish brochure") == 1
    # Later on, the same id again: 409's reason, not "not found".
    with pytest.raises(AlreadyDecided):
        second.decide(second.groups(TURNS), brochure.id, OUT_OF_SCOPE, "pekka")


def test_answered_by_a_fact_changes_the_knowledge_and_asks_for_a_rebuild(make_desk: MakeDesk) -> None:
    builds: list[int] = []
    desk = make_desk(build=lambda: builds.append(1) or {"facts": 26})
    groups = desk.groups(TURNS)
    brochure = group_of(desk, "is there a swedish brochure")
    record = desk.decide(groups, brochure.id, FACT, "aino", fact_id="brochure_english")
    assert record.fact_id == "brochure_english"
    assert record.changes["keys_added"] == {"en": ["is there a swedish brochure", "is there a swedish brochure please"]}
    assert record.changes["faq_cases_added"] == {"en": 2}
    assert desk.rebuild.wait(30) and builds == [1] and desk.rebuild.status()["state"] == "done"


def test_unticked_questions_stay_in_the_queue(make_desk: MakeDesk) -> None:
    desk = make_desk(build=lambda: {})
    groups = desk.groups(TURNS)
    brochure = group_of(desk, "is there a swedish brochure")
    ticked = ["IS THERE A SWEDISH BROCHURE?"]
    desk.decide(groups, brochure.id, FACT, "aino", fact_id="brochure_english", questions=ticked)
    left = [[q.text for q in g.questions] for g in desk.groups(TURNS)]
    assert ["is there a swedish brochure please"] in left
    with pytest.raises(ReviewError, match="not a question of this group"):
        desk.decide(groups, group_of(desk, "what is the weather in kotka").id, OUT_OF_SCOPE, "a", questions=["other"])


def test_a_new_fact_writes_a_draft_for_a_developer(make_desk: MakeDesk) -> None:
    desk = make_desk()
    groups = desk.groups(TURNS)
    population = group_of(desk, "mikä on kouvolan väkiluku")
    record = desk.decide(groups, population.id, NEW_FACT, "aino", note="Väkiluku: ei strategiasivulla")
    draft = Path(record.changes["draft"])
    assert draft.parent == desk.config.knowledge_dir / "drafts"
    data = yaml.safe_load(draft.read_text(encoding="utf-8"))["draft"]
    assert data["keys"] == {"fi": ["mikä on kouvolan väkiluku"]} and data["note"] == "Väkiluku: ei strategiasivulla"
    assert data["asked"] == 1


def test_a_decision_whose_change_fails_is_not_stored(make_desk: MakeDesk) -> None:
    desk = make_desk()
    groups = desk.groups(TURNS)
    brochure = group_of(desk, "is there a swedish brochure")
    facts = desk.config.knowledge_dir / "facts.yml"
    original = facts.read_bytes()

    def failing(change: Any) -> dict[str, Any]:
        raise KnowledgeChangeRefused("the disk is full")

    desk.writer.apply = failing  # type: ignore[method-assign]
    with pytest.raises(KnowledgeChangeRefused, match="disk is full"):
        desk.decide(groups, brochure.id, FACT, "aino", fact_id="brochure_english")
    assert desk.store.by_group(brochure.id) is None and facts.read_bytes() == original
    assert brochure.id in [g.id for g in desk.groups(TURNS)]


def test_wrong_decisions_are_refused(make_desk: MakeDesk) -> None:
    desk = make_desk()
    groups = desk.groups(TURNS)
    some = groups[0].id
    with pytest.raises(ReviewError, match="decision must be one of"):
        desk.decide(groups, some, "maybe", "aino")
    with pytest.raises(ReviewError, match="name the fact"):
        desk.decide(groups, some, FACT, "aino")
    with pytest.raises(ReviewError, match="no fact 'nope'"):
        desk.decide(groups, some, FACT, "aino", fact_id="nope")
    with pytest.raises(GroupNotFound):
        desk.decide(groups, "0123456789abcdef", OUT_OF_SCOPE, "aino")
    assert desk.store.recent() == []


def test_the_purge_erases_question_texts_of_old_decisions(make_desk: MakeDesk, database_url: str) -> None:
    """Users may type personal data into a question: after the retention period only who decided what stays."""
    from datetime import datetime, timedelta, timezone

    desk = make_desk(database_url=database_url)
    groups = desk.groups(TURNS)
    weather = group_of(desk, "what is the weather in kotka")
    desk.decide(groups, weather.id, OUT_OF_SCOPE, "aino")
    assert desk.store.purge(30) == 0
    later = datetime.now(timezone.utc) + timedelta(days=31)
    assert desk.store.purge(30, now=later) == 1
    stored = desk.store.by_group(weather.id)
    assert stored is not None and stored.questions == [] and stored.decided_by == "aino"
    # The decided question still does not come back.
    assert weather.id not in [g.id for g in desk.groups(TURNS)]
    assert desk.store.purge(30, now=later) == 0
