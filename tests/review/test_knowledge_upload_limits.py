"""How large a body the back office reads (bot/web/body_limits.py): a source's new version as large as the 1.5 MB
brochure is taken on the Knowledge page and API, up to RIS3_KNOWLEDGE_UPLOAD_MAX_BYTES; beyond it, and beyond
aiohttp's 1 MiB on every other route, the answer is a 413 that says the limit, and nothing is written. Only an
editor's upload gets the larger limit: signed out or without the role, the body is refused before it is read."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from review_helpers import API_TOKEN, MakeDesk, StartBackoffice
from test_knowledge_web import BEARER, NEW, OLD, snapshot

from bot.analytics.review import ReviewDesk
from bot.knowledge.store import load_knowledge
from bot.web.account_store import AccountStore
from bot.web.config import WebSettings
from bot.web.passwords import hash_password
from tests.pdf_maker import make_pdf
from tests.web.web_helpers import PASSWORD, csrf_in, manager_settings

pytestmark = pytest.mark.asyncio
LIMIT = 3 * 1024 * 1024
UPLOAD = "/api/knowledge/sources/ris3-page/uploads"
BROCHURE_SIZE = 1_500_000  # KYMRIS3_esite_eng.pdf, "1459 kB"


@pytest.fixture
def web_settings(tmp_path: Path, password_hash: str) -> WebSettings:
    from pydantic import SecretStr

    return manager_settings(tmp_path, password_hash, api_token=SecretStr(API_TOKEN),
                            knowledge_upload_max_bytes=LIMIT)


@pytest.fixture
def desk(make_desk: MakeDesk) -> ReviewDesk:
    return make_desk(build=lambda: {})


def pdf_of(desk: ReviewDesk, size: int) -> bytes:
    """The page's text with the new number, as a two-page PDF padded to about `size` bytes (its images)."""
    lines = [line for line in load_knowledge(desk.config.knowledge_dir).sources["ris3-page"].text.replace(OLD, NEW)
             .splitlines() if line.strip()]
    bare = make_pdf([lines[:10], lines[10:]])
    return make_pdf([lines[:10], lines[10:]], filler_bytes=max(0, size - len(bare) - 40))


def pdf_form(data: bytes, **fields: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("format", "pdf")
    form.add_field("file", data, filename="KYMRIS3_esite_eng.pdf", content_type="application/pdf")
    return form


async def test_a_pdf_as_large_as_the_brochure_is_taken_by_the_api(
    start_backoffice: StartBackoffice, desk: ReviewDesk
) -> None:
    office = await start_backoffice(desk)
    pdf = pdf_of(desk, BROCHURE_SIZE)
    assert len(pdf) > 1024 * 1024  # over aiohttp's default, which refused it before
    response = await office.client.post(UPLOAD, data=pdf_form(pdf), headers=BEARER)
    body = await response.json()
    assert response.status == 201, body
    assert body["pages"] == 2 and any(s["fact"] == "contact_project_manager" for s in body["stale"])


async def test_a_pdf_as_large_as_the_brochure_is_taken_by_the_page(
    start_backoffice: StartBackoffice, desk: ReviewDesk
) -> None:
    office = await start_backoffice(desk)
    assert (await office.sign_in()).status == 303
    token = csrf_in(await (await office.client.get("/inbox/knowledge")).text())
    response = await office.client.post("/inbox/knowledge/sources/ris3-page/uploads",
                                        data=pdf_form(pdf_of(desk, BROCHURE_SIZE), csrf_token=token),
                                        allow_redirects=False)
    assert response.status == 303, await response.text()
    preview = await (await office.client.get(response.headers["Location"])).text()
    assert "contact_project_manager" in preview


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_an_upload_over_the_limit_gets_413_saying_it(
    start_backoffice: StartBackoffice, desk: ReviewDesk, chunked: bool
) -> None:
    office = await start_backoffice(desk)
    before = snapshot(desk.config.knowledge_dir)
    pdf = pdf_of(desk, LIMIT + 100_000)
    # Chunked: no Content-Length, the limit is met while the body is read.
    response = await office.client.post(UPLOAD, data=pdf_form(pdf), headers=BEARER, chunked=chunked or None)
    assert ("Transfer-Encoding" in response.request_info.headers) == chunked
    assert response.status == 413
    assert f"{LIMIT:,} bytes" in (await response.json())["error"]
    assert snapshot(desk.config.knowledge_dir) == before


async def test_the_page_says_the_limit_too(start_backoffice: StartBackoffice, desk: ReviewDesk) -> None:
    office = await start_backoffice(desk)
    assert (await office.sign_in()).status == 303
    token = csrf_in(await (await office.client.get("/inbox/knowledge")).text())
    response = await office.client.post("/inbox/knowledge/sources/ris3-page/uploads",
                                        data=pdf_form(pdf_of(desk, LIMIT + 100_000), csrf_token=token))
    assert response.status == 413
    assert f"{LIMIT:,} bytes" in await response.text()


@pytest.mark.parametrize(
    "path",
    [
        "/api/knowledge/facts/about_what",  # the fact editor's API: JSON, never large
        "/api/knowledge/sources/ris3-page/uploads/0123456789abcdef/publish",
        "/api/review/decisions",
        "/api/tickets/RIS3-7K2Q/status",
    ],
)
async def test_every_other_route_keeps_one_mebibyte(
    start_backoffice: StartBackoffice, desk: ReviewDesk, path: str
) -> None:
    office = await start_backoffice(desk)
    body = b'{"note": "' + b"x" * BROCHURE_SIZE + b'"}'
    response = await office.client.post(path, data=body, headers={**BEARER, "Content-Type": "application/json"})
    assert response.status == 413
    assert f"{1024 * 1024:,} bytes" in (await response.json())["error"]


async def test_only_an_editor_may_send_a_large_body(start_backoffice: StartBackoffice, desk: ReviewDesk) -> None:
    office = await start_backoffice(desk)
    pdf = pdf_of(desk, BROCHURE_SIZE)
    response = await office.client.post(UPLOAD, data=pdf_form(pdf))
    assert response.status == 401  # signed out: refused before the body is read
    accounts = AccountStore.open(desk.config.database_url)
    try:
        accounts.add("mona", hash_password(PASSWORD), ["manager"], by="test")
    finally:
        accounts.close()
    assert (await office.sign_in("mona")).status == 303
    token = await office.api_token()
    response = await office.client.post(UPLOAD, data=pdf_form(pdf), headers={"X-CSRF-Token": token})
    assert response.status == 403


async def test_the_limit_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert WebSettings(_env_file=None).knowledge_upload_max_bytes == 20 * 1024 * 1024  # type: ignore[call-arg]
    monkeypatch.setenv("RIS3_KNOWLEDGE_UPLOAD_MAX_BYTES", str(50 * 1024 * 1024))
    assert WebSettings(_env_file=None).knowledge_upload_max_bytes == 50 * 1024 * 1024  # type: ignore[call-arg]
    monkeypatch.setenv("RIS3_KNOWLEDGE_UPLOAD_MAX_BYTES", "1000")
    with pytest.raises(ValueError, match="greater than or equal"):
        WebSettings(_env_file=None)  # type: ignore[call-arg]
