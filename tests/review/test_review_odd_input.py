"""Review under odd input (issue 25): characters YAML refuses in a question or a note, and dates at the calendar's
edge, answer a clear 4xx or are kept escaped — never a 500."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from review_helpers import API_TOKEN, Asked, Conversation, MakeDesk, StartBackoffice, decision, write_conversations

from bot.analytics.review import ReviewDesk

pytestmark = pytest.mark.asyncio
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}
# DEL, C1 controls (NEL among them, which YAML reads as a line break), U+FFFE, a line separator.
ODD = "is there\x7f a brochure\x80 in\x85 swedish\x9f \ufffe\u2028?"


@pytest.fixture
def odd_desk(make_desk: MakeDesk) -> ReviewDesk:
    desk = make_desk(build=None)
    write_conversations(desk.config.tracker_url, [Conversation("web:o1", [Asked(ODD, decision(False, "about_what"))])])
    return desk


async def _group(office: Any) -> dict[str, Any]:
    groups = (await (await office.client.get("/api/review", headers=BEARER)).json())["groups"]
    return next(g for g in groups if any(q["text"] == ODD for q in g["questions"]))


async def test_a_new_fact_with_characters_yaml_refuses_is_kept_escaped(
    start_backoffice: StartBackoffice, odd_desk: ReviewDesk
) -> None:
    office = await start_backoffice(odd_desk)
    group = await _group(office)
    note = "note\x7f with\x9a odd\ufffe\x85characters"
    response = await office.client.post(f"/api/review/{group['id']}", json={"decision": "new_fact", "note": note},
                                        headers=BEARER)
    assert response.status == 200, await response.text()
    drafts = list((odd_desk.config.knowledge_dir / "drafts").glob("new-fact-*.yml"))
    assert len(drafts) == 1
    text = drafts[0].read_text(encoding="utf-8")
    assert "\x7f" not in text and "\x85" not in text and "\ufffe" not in text  # escaped, not raw
    draft = yaml.safe_load(text)["draft"]
    assert draft["note"] == note
    assert draft["keys"]["en"] == [" ".join(ODD.split())]


@pytest.mark.parametrize("period", [{"to": "9999-12-31"}, {"from": "0001-01-01", "to": "2026-01-01"},
                                    {"to": "0001-01-03"}])
async def test_dates_at_the_calendars_edge_are_refused_clearly(
    start_backoffice: StartBackoffice, odd_desk: ReviewDesk, period: dict[str, str]
) -> None:
    office = await start_backoffice(odd_desk)
    query = "&".join(f"{k}={v}" for k, v in period.items())
    api = await office.client.get(f"/api/review?{query}", headers=BEARER)
    assert api.status == 422
    assert "must be a date between 2000-01-01 and 2999-12-31" in (await api.json())["error"]
    group = await _group(office)
    body = {"decision": "out_of_scope", **period}
    decided = await office.client.post(f"/api/review/{group['id']}", json=body, headers=BEARER)
    assert decided.status == 422
    assert "must be a date between" in (await decided.json())["error"]
    assert odd_desk.store.recent() == []
    signed_in = await office.sign_in()
    assert signed_in.status == 303
    page = await office.client.get(f"/inbox/review?{query}")
    assert page.status == 400
    assert "must be a date between" in await page.text()
    insights = await office.client.get(f"/inbox/insights?{query}")
    assert insights.status == 400


async def test_a_fact_decision_with_characters_yaml_refuses_keeps_them_escaped(
    start_backoffice: StartBackoffice, odd_desk: ReviewDesk
) -> None:
    office = await start_backoffice(odd_desk)
    group = await _group(office)
    response = await office.client.post(f"/api/review/{group['id']}", json={"decision": "fact", "fact": "about_what"},
                                        headers=BEARER)
    assert response.status == 200, await response.text()
    facts = yaml.safe_load((odd_desk.config.knowledge_dir / "facts.yml").read_text(encoding="utf-8"))
    about = next(f for f in facts["facts"] if f["id"] == "about_what")
    assert " ".join(ODD.split()) in about["keys"]["en"]
