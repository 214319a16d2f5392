"""Reviewed questions added to the decision's labelled set (bot/analytics/labelled.py) from a Review decision: the
lines appended, read back by the fit's own loader, no duplicates, nothing written when the decision fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_helpers import (
    API_TOKEN,
    Asked,
    Conversation,
    MakeDesk,
    StartBackoffice,
    decision,
    declined,
    turn,
    write_conversations,
)

from bot.analytics.labelled import LABELLED_SET, LabelledQuestion, LabelledSetError, with_questions
from bot.analytics.review import FACT, NEW_FACT, OUT_OF_SCOPE, SHOULD_HAND_OFF, ReviewError
from bot.knowledge.calibration import load_cases
from bot.settings import PROJECT_ROOT
from tests.web.web_helpers import csrf_in

TURNS = [
    declined("is there a swedish brochure", "web:a"),
    declined('is there a "swedish" brochure: please', "telegram:b"),
    declined("what is the weather in kotka", "web:c"),
    turn("mikä on kouvolan väkiluku", "web:e", language="fi", outcome={"kind": "answer", "answered": False}),
]
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}
START = "# the set\n- {q: what is ris3, lang: en, expect: [about_what]}\n"


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    path = tmp_path / "decision_cases.yml"
    path.write_text(START, encoding="utf-8")
    return path


def test_the_path_is_the_set_the_fit_reads() -> None:
    calibrate = (PROJECT_ROOT / "bench" / "decision_calibrate.py").read_text(encoding="utf-8")
    assert LABELLED_SET.is_file() and f'"{LABELLED_SET.name}"' in calibrate


def test_appended_lines_read_back_as_cases_and_twice_is_once() -> None:
    new = [
        LabelledQuestion('a "quoted": question', "en", "brochure_english"),
        LabelledQuestion("sää?", "fi", None),
        LabelledQuestion("What is RIS3?", "en", "about_what"),
        LabelledQuestion("x", "sv", None),
    ]
    text, added = with_questions(START, new)
    assert [q.q for q in added] == ['a "quoted": question', "sää?"]  # "What is RIS3?" is known; sv is no language
    assert text.startswith(START)  # appended, the rest untouched
    again, none = with_questions(text, new)
    assert again == text and none == []
    with pytest.raises(LabelledSetError):
        with_questions("q: [unclosed", new)


def test_a_decision_with_label_appends_its_questions(make_desk: MakeDesk, labelled: Path) -> None:
    desk = make_desk(labelled_path=labelled)
    groups = desk.groups(TURNS)
    brochure = next(g for g in groups if any("swedish" in q.text for q in g.questions))
    record = desk.decide(groups, brochure.id, FACT, "aino", fact_id="brochure_english", label=True)
    assert sorted(record.changes["labelled_added"]) == sorted(q.text for q in brochure.questions)
    groups = desk.groups(TURNS)
    weather = next(g for g in groups if any("weather" in q.text for q in g.questions))
    desk.decide(groups, weather.id, OUT_OF_SCOPE, "aino", label=True)
    groups = desk.groups(TURNS)
    finnish = next(g for g in groups if any("väkiluku" in q.text for q in g.questions))
    desk.decide(groups, finnish.id, SHOULD_HAND_OFF, "aino", label=True)
    cases = {c.q: c for c in load_cases(labelled)}
    assert cases["is there a swedish brochure"].expect == frozenset({"brochure_english"})
    assert cases['is there a "swedish" brochure: please'].lang == "en"
    assert cases["what is the weather in kotka"].expect is None
    assert cases["mikä on kouvolan väkiluku"].lang == "fi" and cases["mikä on kouvolan väkiluku"].expect is None
    assert len(cases) == 5


def test_without_label_nothing_is_appended_and_a_new_fact_cannot_be_labelled(
    make_desk: MakeDesk, labelled: Path
) -> None:
    desk = make_desk(labelled_path=labelled)
    groups = desk.groups(TURNS)
    weather = next(g for g in groups if any("weather" in q.text for q in g.questions))
    with pytest.raises(ReviewError):
        desk.decide(groups, weather.id, NEW_FACT, "aino", note="a fact on weather", label=True)
    desk.decide(groups, weather.id, OUT_OF_SCOPE, "aino")
    assert labelled.read_text(encoding="utf-8") == START


def test_a_decision_that_fails_appends_nothing(make_desk: MakeDesk, labelled: Path) -> None:
    desk = make_desk(labelled_path=labelled)
    groups = desk.groups(TURNS)
    brochure = next(g for g in groups if any("swedish" in q.text for q in g.questions))
    with pytest.raises(ReviewError):
        desk.decide(groups, brochure.id, FACT, "aino", fact_id="no_such_fact", label=True)
    assert labelled.read_text(encoding="utf-8") == START


SEEDED = [
    Conversation("web:l1", [Asked("is there a swedish brochure", decision(False, "brochure_english"))]),
    Conversation("rest:l2", [Asked("what is the weather in kotka", decision(False, "contact_addresses"))]),
]


@pytest.mark.asyncio
async def test_label_from_the_page_and_over_the_api(
    start_backoffice: StartBackoffice, make_desk: MakeDesk, labelled: Path
) -> None:
    desk = make_desk(labelled_path=labelled)
    write_conversations(desk.config.tracker_url, SEEDED)
    office = await start_backoffice(desk)
    assert (await office.sign_in()).status == 303
    html = await (await office.client.get("/inbox/review")).text()
    assert 'name="label" value="yes"' in html
    groups = (await (await office.client.get("/api/review", headers=BEARER)).json())["groups"]
    weather = next(g for g in groups if g["representative"] == "what is the weather in kotka")
    brochure = next(g for g in groups if g["representative"] == "is there a swedish brochure")
    bad = await office.client.post(
        f"/api/review/{weather['id']}", json={"decision": "out_of_scope", "label": "yes"}, headers=BEARER
    )
    assert bad.status == 422 and "label" in (await bad.json())["error"]
    form = {
        "csrf_token": csrf_in(html),
        "decision": "out_of_scope",
        "label": "yes",
        "note": "",
        "question": ["what is the weather in kotka"],
    }
    assert (await office.client.post(f"/inbox/review/{weather['id']}", data=form, allow_redirects=False)).status == 303
    done = await office.client.post(
        f"/api/review/{brochure['id']}",
        headers=BEARER,
        json={"decision": "fact", "fact": "brochure_english", "label": True},
    )
    assert done.status == 200
    assert (await done.json())["decision"]["changes"]["labelled_added"] == ["is there a swedish brochure"]
    cases = {c.q: c.expect for c in load_cases(labelled)}
    assert cases["what is the weather in kotka"] is None
    assert cases["is there a swedish brochure"] == frozenset({"brochure_english"})
