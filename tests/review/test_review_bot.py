"""The whole loop with the real servers (Rasa and the action server on a copy of the knowledge): users ask over REST
and the bot declines; the back office groups their questions; a decision over the API teaches a fact those
questions; the index is rebuilt and the running action server answers them with that fact, without a restart;
the FAQ cases written for them pass on the bot's reply."""

from __future__ import annotations

import time
import uuid

import pytest
from review_helpers import API_TOKEN, ReviewStack, StartBackoffice

from bot.faq.cases import load_case_file
from bot.faq.runner import judge
from tests.web.web_helpers import Backoffice

pytestmark = pytest.mark.asyncio
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}
ASKED = ["is there a paper I can hand out to partners in English",
         "is there a paper I could give partners, in English?"]
FACT = "brochure_english"
FACT_WORDS = "KYMRIS3_esite_eng.pdf"  # in the fact's text only


def answered(reply: str) -> bool:
    """The fact given as the answer, not as a guess ("I'm not sure I understood…": a hedged reply)."""
    return FACT_WORDS in reply and "I'm not sure" not in reply


async def test_taught_questions_are_answered_without_a_restart(
    review_stack: ReviewStack, start_backoffice: StartBackoffice
) -> None:
    stack = review_stack
    actions = stack.bot.processes["actions"]
    before = [stack.ask(f"review-{uuid.uuid4().hex[:8]}", text) for text in ASKED]
    if any(answered(reply) for reply in before):
        pytest.skip(f"the bot already answers with {FACT}: {before}")

    office: Backoffice = await start_backoffice(stack.desk, rasa_url=stack.bot.url)
    data = await (await office.client.get("/api/review", headers=BEARER)).json()
    group = next(g for g in data["groups"] if any(q["text"] == ASKED[0] for q in g["questions"]))
    assert sorted(q["text"] for q in group["questions"]) == sorted(ASKED)  # grouped by meaning
    assert group["channels"] == {"rest": 2} and group["languages"] == {"en": 2}

    decided_at = time.monotonic()
    response = await office.client.post(f"/api/review/{group['id']}", json={"decision": "fact", "fact": FACT},
                                        headers=BEARER)
    assert response.status == 200, await response.text()
    decided = (await response.json())["decision"]
    assert decided["changes"]["keys_added"] == {"en": ASKED}
    assert stack.desk.rebuild.wait(300)
    assert stack.desk.rebuild.status()["state"] == "done", stack.desk.rebuild.status()
    rebuilt_at = time.monotonic()

    # The action server looks at the index at most once a second and loads the new one beside the old.
    deadline, replies = time.monotonic() + 60, before
    while time.monotonic() < deadline:
        replies = [stack.ask(f"review-{uuid.uuid4().hex[:8]}", text) for text in ASKED]
        if all(answered(reply) for reply in replies):
            break
        time.sleep(1)
    assert all(answered(reply) for reply in replies), replies
    print(f"decision to rebuilt index {rebuilt_at - decided_at:.1f} s; to the bot answering "
          f"{time.monotonic() - decided_at:.1f} s")
    # The same action server process all along, never restarted.
    assert actions.poll() is None and stack.bot.processes["actions"] is actions

    # The FAQ cases written for the questions pass on what the bot now says.
    cases = [c for c in load_case_file(stack.cases / "learned_en.yml") if c.question in ASKED]
    assert len(cases) == 2
    for case, reply in zip(sorted(cases, key=lambda c: ASKED.index(c.question)), replies, strict=True):
        _, missing, forbidden = judge(case, reply)
        assert not missing and not forbidden, (case, reply)
    # Over the back office's own "try it" API as well, and the group is gone from the queue.
    tried = await (await office.client.post("/api/review/try", json={"question": ASKED[0]}, headers=BEARER)).json()
    assert any(answered(r["text"]) for r in tried["replies"])
    after = await (await office.client.get("/api/review", headers=BEARER)).json()
    assert group["id"] not in [g["id"] for g in after["groups"]]
    assert all(q["text"] != ASKED[0] for g in after["groups"] for q in g["questions"])  # the try box is no user
