"""The Knowledge page and API (bot/web/knowledge.py) on a copy of the knowledge: a changed version uploaded as
text, HTML or PDF is compared and published (the stale facts withheld, the index rebuilt), a withheld fact fixed
with the build's checks, and bad uploads refused with the reason while nothing is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from review_helpers import API_TOKEN, MakeDesk, StartBackoffice, WordsEmbedder

from bot.analytics.review import ReviewDesk
from bot.knowledge.index import build_index
from bot.knowledge.store import load_knowledge
from tests.pdf_maker import make_pdf
from tests.web.web_helpers import USER, Backoffice, csrf_in

pytestmark = pytest.mark.asyncio
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}
OLD, NEW = "+358 44 747 8512", "+358 40 123 4567"


@pytest.fixture
def desk(make_desk: MakeDesk, built_index: dict[str, Any]) -> ReviewDesk:
    made = make_desk(build=None)
    made.rebuild._build = lambda: build_index(  # type: ignore[method-assign]
        made.config.knowledge_dir, made.config.index_dir, made.config.embedding_model, WordsEmbedder
    )[1]
    return made


async def signed_in(start: StartBackoffice, desk: ReviewDesk) -> Backoffice:
    office = await start(desk)
    assert (await office.sign_in()).status == 303
    return office


def changed_text(desk: ReviewDesk) -> str:
    return load_knowledge(desk.config.knowledge_dir).sources["ris3-page"].text.replace(OLD, NEW)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "index" not in p.parts and ".uploads" not in p.parts}


async def test_the_page_lists_the_sources_and_their_versions(
    start_backoffice: StartBackoffice, desk: ReviewDesk
) -> None:
    office = await signed_in(start_backoffice, desk)
    response = await office.client.get("/inbox/knowledge")
    page = await response.text()
    assert response.status == 200
    assert 'href="/inbox/knowledge"' in page  # in the navigation
    assert "ris3-page" in page and "before the back office" in page and "Withheld facts" in page


async def test_the_whole_loop_from_the_page(start_backoffice: StartBackoffice, desk: ReviewDesk) -> None:
    office = await signed_in(start_backoffice, desk)
    token = csrf_in(await (await office.client.get("/inbox/knowledge")).text())
    html = "<html><body><nav>Menu</nav><main>" + "".join(
        f"<p>{line}</p>" for line in changed_text(desk).splitlines() if line.strip()) + "</main></body></html>"
    form = {"csrf_token": token, "format": "html", "text": html}
    response = await office.client.post("/inbox/knowledge/sources/ris3-page/uploads", data=form, allow_redirects=False)
    assert response.status == 303, await response.text()
    preview = await (await office.client.get(response.headers["Location"])).text()
    assert "contact_project_manager" in preview and f"+ GSM {NEW}" in preview.replace("&#43;", "+")
    publish = response.headers["Location"] + "/publish"
    response = await office.client.post(publish, data={"csrf_token": token, "updated": "12.01.2021"},
                                        allow_redirects=False)
    assert response.status == 303, await response.text()
    assert desk.rebuild.wait(60)
    knowledge = load_knowledge(desk.config.knowledge_dir)
    assert knowledge.facts["contact_project_manager"].withheld
    assert desk.index_status()["up_to_date"]
    page = await (await office.client.get("/inbox/knowledge")).text()
    assert "withheld-contact_project_manager" in page and USER in page

    # Fixed by choosing the new number as its quote, with the same checks as the build.
    editor = await (await office.client.get("/inbox/knowledge/facts/contact_project_manager")).text()
    assert "Withheld:" in editor
    fields = {
        "csrf_token": token, "topic": "contact", "title_en": "Whom to contact", "title_fi": "Keneen ottaa yhteyttä",
        "text_en": f"More information is available from the project manager Petri Tolmunen, phone {NEW}.",
        "text_fi": f"Lisätietoja saa projektipäällikkö Petri Tolmuselta, puh. {NEW}.", "translated_fi": "yes",
        "keys_en": "Who is the project manager?\nWhat is the phone number of the project manager?",
        "quotes": f"More information can be requested from the project manager Petri Tolmunen\nGSM {OLD}",
        "follow_ups": "contact_addresses contact_email", "action": "publish",
    }
    refused = await office.client.post("/inbox/knowledge/facts/contact_project_manager", data=fields)
    assert refused.status == 422 and "quote not found" in await refused.text()
    fields["quotes"] = fields["quotes"].replace(OLD, NEW)
    response = await office.client.post("/inbox/knowledge/facts/contact_project_manager", data=fields,
                                        allow_redirects=False)
    assert response.status == 303, await response.text()
    assert desk.rebuild.wait(60)
    fact = load_knowledge(desk.config.knowledge_dir).facts["contact_project_manager"]
    assert not fact.withheld and NEW in fact.text["en"]
    assert desk.index_status()["up_to_date"]


async def test_the_api_publishes_a_pdf_with_its_pages(start_backoffice: StartBackoffice, desk: ReviewDesk) -> None:
    office = await start_backoffice(desk)
    lines = [line for line in changed_text(desk).splitlines() if line.strip()]
    pdf = make_pdf([lines[:10], lines[10:]])
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("format", "pdf")
    form.add_field("file", pdf, filename="page.pdf", content_type="application/pdf")
    response = await office.client.post("/api/knowledge/sources/ris3-page/uploads", data=form, headers=BEARER)
    body = await response.json()
    assert response.status == 201, body
    assert body["pages"] == 2 and any(s["fact"] == "contact_project_manager" for s in body["stale"])
    response = await office.client.post(
        f"/api/knowledge/sources/ris3-page/uploads/{body['upload']}/publish", json={}, headers=BEARER)
    published = await response.json()
    assert response.status == 200, published
    assert published["published"]["version"] == 2
    overview = await (await office.client.get("/api/knowledge", headers=BEARER)).json()
    versions = overview["sources"][0]["versions"]
    assert versions[0]["number"] == 2 and versions[0]["format"] == "pdf" and versions[0]["pages"] == 2
    version = await (await office.client.get("/api/knowledge/sources/ris3-page/versions/1", headers=BEARER)).json()
    assert OLD in version["text"]


@pytest.mark.parametrize(
    ("fmt", "payload", "status", "reason"),
    [
        ("pdf", make_pdf([[]]), 422, "no text layer"),
        ("pdf", b"\x00\x01binary", 422, "not a PDF"),
        ("text", b"\x00\x01\x02\x03binary", 422, "binary"),
        ("text", b"", 422, "paste the new text or choose a file"),
        ("html", b"plain words", 422, "no HTML elements"),
    ],
)
async def test_bad_uploads_are_refused_and_nothing_is_written(
    start_backoffice: StartBackoffice, desk: ReviewDesk, fmt: str, payload: bytes, status: int, reason: str
) -> None:
    import aiohttp

    office = await start_backoffice(desk)
    before = snapshot(desk.config.knowledge_dir)
    form = aiohttp.FormData()
    form.add_field("format", fmt)
    form.add_field("file", payload, filename="upload.bin", content_type="application/octet-stream")
    response = await office.client.post("/api/knowledge/sources/ris3-page/uploads", data=form, headers=BEARER)
    assert response.status == status
    assert reason in (await response.json())["error"]
    assert snapshot(desk.config.knowledge_dir) == before


async def test_malformed_requests_get_a_reason(start_backoffice: StartBackoffice, desk: ReviewDesk) -> None:
    office = await start_backoffice(desk)
    broken = b"--xyz\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\ntext\r\n--xy"
    response = await office.client.post(
        "/api/knowledge/sources/ris3-page/uploads", data=broken,
        headers={**BEARER, "Content-Type": "multipart/form-data; boundary=xyz"})
    assert response.status in (400, 422) and "error" in await response.json()
    response = await office.client.post("/api/knowledge/sources/ris3-page/uploads", data=b"{not json",
                                        headers={**BEARER, "Content-Type": "application/json"})
    assert response.status == 400
    response = await office.client.post("/api/knowledge/sources/nope/uploads", json={"format": "text", "text": "x"},
                                        headers=BEARER)
    assert response.status == 404
    response = await office.client.post("/api/knowledge/sources/ris3-page/uploads/0123456789abcdef/publish",
                                        json={}, headers=BEARER)
    assert response.status == 404
    response = await office.client.post("/api/knowledge/facts/about_what/confirm", headers=BEARER)
    assert response.status == 422 and "not withheld" in (await response.json())["error"]


async def test_the_api_checks_a_fact_without_writing(start_backoffice: StartBackoffice, desk: ReviewDesk) -> None:
    office = await start_backoffice(desk)
    before = snapshot(desk.config.knowledge_dir)
    fact = (await (await office.client.get("/api/knowledge/facts/about_what", headers=BEARER)).json())["fact"]
    response = await office.client.post("/api/knowledge/facts/about_what", headers=BEARER,
                                        json={"fact": {**fact, "translated": []}, "check_only": True})
    assert response.status == 422 and "translated" in (await response.json())["error"]
    response = await office.client.post("/api/knowledge/facts/about_what", headers=BEARER,
                                        json={"fact": fact, "check_only": True})
    assert response.status == 200
    assert snapshot(desk.config.knowledge_dir) == before


async def test_signed_out_is_kept_out(start_backoffice: StartBackoffice, desk: ReviewDesk) -> None:
    office = await start_backoffice(desk)
    assert (await office.client.get("/api/knowledge")).status == 401
    response = await office.client.get("/inbox/knowledge", allow_redirects=False)
    assert response.status == 302


async def test_the_new_fact_editor_takes_the_questions_as_phrasings(
    start_backoffice: StartBackoffice, desk: ReviewDesk
) -> None:
    office = await signed_in(start_backoffice, desk)
    response = await office.client.get("/inbox/knowledge/facts/new?keys_en=is+there+a+swedish+brochure&keys_fi=onko")
    page = await response.text()
    assert response.status == 200
    assert "is there a swedish brochure</textarea>" in page and ">onko</textarea>" in page


async def test_try_answers_with_the_draft_and_writes_nothing(
    start_backoffice: StartBackoffice, desk: ReviewDesk
) -> None:
    """"Try it" gives the bot's reply with the draft in place, before anything is published (issue 24)."""
    office = await signed_in(start_backoffice, desk)
    token = csrf_in(await (await office.client.get("/inbox/knowledge")).text())
    before = snapshot(desk.config.knowledge_dir)
    published = load_knowledge(desk.config.knowledge_dir).facts["contact_project_manager"]
    draft_sentence = "Calls are best on weekday mornings."
    fields = {
        "csrf_token": token, "topic": "contact", "title_en": "Whom to contact", "title_fi": "Keneen ottaa yhteyttä",
        "text_en": f"{published.text['en']} {draft_sentence}", "text_fi": published.text["fi"], "translated_fi": "yes",
        "keys_en": "Who is the project manager?\nWhat is the phone number of the project manager?",
        "quotes": "\n".join(q.text for q in published.quotes),
        "follow_ups": " ".join(published.follow_ups), "action": "try",
        "question": "Who is the project manager?", "try_language": "en",
    }
    response = await office.client.post("/inbox/knowledge/facts/contact_project_manager", data=fields)
    page = await response.text()
    assert response.status == 200, page
    assert "with this draft" in page and draft_sentence in page
    assert "answer with contact_project_manager" in page
    assert snapshot(desk.config.knowledge_dir) == before

    # A draft that fails the checks gets the reasons and no reply.
    fields["quotes"] = "words the page never says"
    refused = await office.client.post("/inbox/knowledge/facts/contact_project_manager", data=fields)
    assert refused.status == 422 and "quote not found" in await refused.text()
    # A question too long, or in a language the bot does not speak, is refused with the reason.
    fields["quotes"] = "\n".join(q.text for q in published.quotes)
    for bad in ({"question": "x" * 2001}, {"try_language": "sv"}):
        response = await office.client.post("/inbox/knowledge/facts/contact_project_manager", data={**fields, **bad})
        assert response.status == 422 and "at most 2000 characters" in await response.text()
    assert snapshot(desk.config.knowledge_dir) == before
