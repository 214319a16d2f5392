"""The Knowledge page: the sources with their versions, a new version uploaded and compared with the current
one (the facts it leaves stale are withheld when it is published), and facts created or edited with the build's
checks (bot/knowledge/versions.py, bot/knowledge/fact_edit.py; what staff do: docs/staff.md).

Pages (HTML forms with the CSRF token):
- GET /inbox/knowledge: the sources, their versions, the withheld facts and the facts to edit;
- POST /inbox/knowledge/sources/<source>/uploads: a new version (format text | html | pdf; pasted text or a
  file) → GET /inbox/knowledge/sources/<source>/uploads/<upload>: its differences and stale facts;
  POST …/uploads/<upload>/publish: publishes it;
- GET /inbox/knowledge/sources/<source>/versions/<n>: a version's text;
- POST /inbox/knowledge/facts/<fact>/confirm: a withheld fact whose quotes stand again is stated again;
- GET /inbox/knowledge/facts/<fact> (or /inbox/knowledge/facts/new?fact=<id>&keys_en=…): the fact editor;
  POST /inbox/knowledge/facts/<fact> with action=check | try | publish.
The API under /api/knowledge mirrors them with JSON (the session's X-CSRF-Token header, or the scripts' token).

Publishing writes knowledge/ under the Review desk's lock (one writer at a time) and rebuilds the index on its
thread: the running bot switches to the new index without a restart (docs/review.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.analytics.review import KnowledgeChange, KnowledgeChangeRefused, ReviewDesk
from bot.knowledge.draft_try import try_draft
from bot.knowledge.extract import FORMATS, ExtractError, extract
from bot.knowledge.fact_edit import FactRefused, plan_fact, raw_facts
from bot.knowledge.index import IndexNotReady, load_index
from bot.knowledge.service import load_decision_model, load_fact_classifier
from bot.knowledge.store import LANGUAGES, TOPICS, Knowledge, KnowledgeError, load_knowledge
from bot.knowledge.versions import (
    UploadStore,
    VersionError,
    check_copy,
    current_version,
    diff_lines,
    found_again,
    metadata_problems,
    missing_quotes,
    plan_publish,
    plan_release,
    stale_facts,
    version_text,
    versions,
)
from bot.web.body_limits import large_bodies
from bot.web.errors import error_response
from bot.web.identity import USER_KEY
from bot.web.review import REVIEW_DESK
from bot.web.sessions import csrf_token
from bot.web.templates import render

logger = logging.getLogger(__name__)

PAGE_PATH = "/inbox/knowledge"
API_PATH = "/api/knowledge"
# The diff shown on the page is cut after this many lines (the API gives it whole).
MAX_DIFF_LINES = 400


# A question to try is as long as a chat message may be.
MAX_TRY_CHARS = 2000


def _try_draft(
    desk: ReviewDesk, fact_id: str, given: dict[str, Any], create: bool, question: str, language: str | None
) -> dict[str, Any]:
    """The bot's reply with the draft in place (bot/knowledge/draft_try.py), checked as Check checks it first."""
    config = desk.config
    files, _ = plan_fact(config.knowledge_dir, fact_id, given, create)
    draft = check_copy(config.knowledge_dir, files)
    index = load_index(config.knowledge_dir, config.index_dir, config.embedding_model)
    model = load_decision_model(config.knowledge_dir, index)
    tried = try_draft(index, draft, fact_id, question, language, desk.embedder, model,
                      load_fact_classifier(config.knowledge_dir, model))
    return {"question": tried.question, "replies": tried.replies, "error": None, "draft": True,
            "outcome": tried.outcome, "fact": tried.fact}


def _desk(request: web.Request) -> ReviewDesk:
    return request.app[REVIEW_DESK]


def _knowledge(request: web.Request) -> Knowledge:
    return load_knowledge(_desk(request).config.knowledge_dir)


def _uploads(request: web.Request) -> UploadStore:
    return UploadStore(_desk(request).config.knowledge_dir)


# --- reading what the editor sent ------------------------------------------------------------------------------------


class BadUpload(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _form(request: web.Request) -> MultiDictProxy[Any]:
    try:
        return await request.post()
    except web.HTTPRequestEntityTooLarge as exc:
        raise BadUpload(413, f"the upload is larger than the back office accepts ({request.client_max_size:,} bytes)") \
            from exc
    except (ValueError, AssertionError, UnicodeDecodeError) as exc:
        raise BadUpload(400, f"the form cannot be read ({type(exc).__name__})") from exc


def _file_bytes(value: Any) -> bytes | None:
    # Its size is bounded by the route's body limit (RIS3_KNOWLEDGE_UPLOAD_MAX_BYTES, bot/web/body_limits.py).
    return value.file.read() if isinstance(value, web.FileField) else None


async def _read_upload(request: web.Request) -> tuple[str, bytes | str, str]:
    """(format, content, file name) from a form (pasted text or a file) or a JSON body {"format", "text"}."""
    if request.content_type == "application/json":
        body = await _json(request)
        fmt, text = body.get("format", "text"), body.get("text")
        if not isinstance(fmt, str) or not isinstance(text, str):
            raise BadUpload(422, 'send {"format": "text" | "html", "text": "…"}, or a PDF as a multipart file')
        return fmt, text, ""
    if request.content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise BadUpload(415, "send a form (multipart/form-data) or JSON")
    form = await _form(request)
    fmt = str(form.get("format") or "")
    data = _file_bytes(form.get("file"))
    if data:
        name = getattr(form.get("file"), "filename", "") or ""
        return fmt, data, str(name)
    text = form.get("text")
    if isinstance(text, str) and text.strip():
        return fmt, text, ""
    raise BadUpload(422, "paste the new text or choose a file")


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.text() or "{}")
    except web.HTTPRequestEntityTooLarge as exc:
        raise BadUpload(413, f"the body is larger than the back office accepts ({request.client_max_size:,} bytes)") \
            from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadUpload(400, f"the body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadUpload(400, "the body must be a JSON object")
    return body


# --- the work, off the event loop ------------------------------------------------------------------------------------


def _overview(desk: ReviewDesk) -> dict[str, Any]:
    knowledge = load_knowledge(desk.config.knowledge_dir)
    sources = []
    for source in knowledge.sources.values():
        current = current_version(knowledge, source.id)
        sources.append({
            "id": source.id, "title": source.title, "updated": source.updated, "format": source.format,
            "current": current.number, "versions": [v.as_json() for v in reversed(versions(knowledge, source.id))],
        })
    withheld = [
        {"fact": f.id, "title": f.title.get("en") or f.id, "reason": f.withheld,
         "confirmable": not missing_quotes(knowledge, f)}
        for f in knowledge.facts.values() if f.withheld
    ]
    facts = [{"id": f.id, "topic": f.topic, "title": f.title.get("en") or f.id, "withheld": bool(f.withheld)}
             for f in knowledge.facts.values()]
    return {"sources": sources, "withheld": withheld, "facts": facts, "index": desk.index_status()}


def _compare(desk: ReviewDesk, upload: dict[str, Any]) -> dict[str, Any]:
    knowledge = load_knowledge(desk.config.knowledge_dir)
    source = knowledge.sources[upload["source"]]
    current = current_version(knowledge, source.id)
    return {
        "upload": upload["id"], "source": source.id, "title": source.title, "format": upload["format"],
        "base": upload["base"], "current": current.number, "uploaded_by": upload.get("uploaded_by"),
        "pages": len(upload.get("pages") or []) or None, "name": upload.get("name") or "",
        "diff": diff_lines(source.text, upload["text"]),
        "stale": [s.as_json() for s in stale_facts(knowledge, source.id, upload["text"])],
        "confirmable_after": found_again(knowledge, source.id, upload["text"]),
        "problems": metadata_problems(source, upload["text"], source.updated),
        "updated": source.updated,
    }


def _upload(request: web.Request) -> tuple[dict[str, Any], str]:
    source_id = request.match_info["source"]
    upload = _uploads(request).load(request.match_info["upload"])
    if upload is None or upload.get("source") != source_id:
        raise BadUpload(404, "no such upload (it was published already, or is older than a week): upload it again")
    return upload, source_id


def _save_upload(desk: ReviewDesk, source_id: str, fmt: str, content: bytes | str, name: str, who: str) -> str:
    knowledge = load_knowledge(desk.config.knowledge_dir)
    source = knowledge.sources.get(source_id)
    if source is None:
        raise BadUpload(404, f"no source {source_id!r}")
    if fmt not in FORMATS:
        raise BadUpload(422, f"the format must be one of {', '.join(FORMATS)}")
    try:
        extracted = extract(fmt, content, source.not_content)
    except ExtractError as exc:
        raise BadUpload(422, str(exc)) from exc
    base = current_version(knowledge, source_id).number
    return UploadStore(desk.config.knowledge_dir).save(source_id, base, extracted, who, name)


def _write(desk: ReviewDesk, label: str, plan: Any) -> dict[str, Any]:
    """Plans under the knowledge lock and writes; the index is rebuilt afterwards, on the desk's thread."""
    with desk.writer.locked():
        summary, files = plan()
        change = KnowledgeChange(label, files=files)
        desk.writer.apply(change)
    desk.rebuild.request()
    return summary


def _publish(desk: ReviewDesk, upload: dict[str, Any], who: str, updated: str, note: str) -> dict[str, Any]:
    def plan() -> tuple[dict[str, Any], Any]:
        publication = plan_publish(desk.config.knowledge_dir, upload, who, updated, note)
        return publication.summary, publication.files

    summary = _write(desk, f"source {upload['source']}", plan)
    UploadStore(desk.config.knowledge_dir).remove(upload["id"])
    logger.info("knowledge: %s published version %s of %s, withholding %s", who, summary["version"],
                summary["source"], ", ".join(s["fact"] for s in summary["withheld"]) or "no fact")
    return summary


def _confirm(desk: ReviewDesk, fact_id: str, who: str) -> dict[str, Any]:
    summary = _write(desk, fact_id, lambda: ({"fact": fact_id, "confirmed_by": who},
                                              plan_release(desk.config.knowledge_dir, fact_id)))
    logger.info("knowledge: %s confirmed fact %s", who, fact_id)
    return summary


def _save_fact(desk: ReviewDesk, fact_id: str, given: dict[str, Any], create: bool, who: str) -> dict[str, Any]:
    def plan() -> tuple[dict[str, Any], Any]:
        files, raw = plan_fact(desk.config.knowledge_dir, fact_id, given, create)
        return {"fact": raw, "created": create}, files

    summary = _write(desk, fact_id, plan)
    logger.info("knowledge: %s %s fact %s", who, "created" if create else "changed", fact_id)
    return summary


REFUSED = (VersionError, KnowledgeChangeRefused, KnowledgeError)


# --- pages -------------------------------------------------------------------------------------------------------


async def _context(request: web.Request, **extra: Any) -> dict[str, Any]:
    return {"signed_in": request[USER_KEY], "csrf_token": await csrf_token(request), "formats": FORMATS, **extra}


async def page(request: web.Request, status: int = 200, error: str | None = None) -> web.StreamResponse:
    try:
        overview = await asyncio.to_thread(_overview, _desk(request))
    except KnowledgeError as exc:
        return error_response(request, 500, f"The knowledge does not load: {exc}")
    notice = request.query.get("done", "")[:200]
    return render("knowledge.html", await _context(request, error=error, notice=notice, **overview), status=status)


@large_bodies
async def upload_from_page(request: web.Request) -> web.StreamResponse:
    source_id = request.match_info["source"]
    try:
        fmt, content, name = await _read_upload(request)
        upload_id = await asyncio.to_thread(_save_upload, _desk(request), source_id, fmt, content, name,
                                            request[USER_KEY])
    except BadUpload as exc:
        if exc.status in (413, 415, 400):
            return error_response(request, exc.status, f"{exc}.")
        return await page(request, status=exc.status, error=str(exc))
    raise web.HTTPSeeOther(f"{PAGE_PATH}/sources/{source_id}/uploads/{upload_id}")


async def upload_page(request: web.Request, status: int = 200, error: str | None = None) -> web.StreamResponse:
    try:
        upload, _ = _upload(request)
        compared = await asyncio.to_thread(_compare, _desk(request), upload)
    except BadUpload as exc:
        return error_response(request, exc.status, f"{exc}.")
    shown = compared["diff"][:MAX_DIFF_LINES]
    context = await _context(request, error=error, compared=compared, diff=shown,
                             diff_cut=len(compared["diff"]) - len(shown))
    return render("knowledge_upload.html", context, status=status)


async def publish_from_page(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        upload, source_id = _upload(request)
        summary = await asyncio.to_thread(_publish, _desk(request), upload, request[USER_KEY],
                                          str(form.get("updated") or ""), str(form.get("note") or ""))
    except BadUpload as exc:
        return error_response(request, exc.status, f"{exc}.")
    except REFUSED as exc:
        return await upload_page(request, status=422, error=str(exc))
    withheld = ", ".join(s["fact"] for s in summary["withheld"]) or "none"
    done = f"Version {summary['version']} of {source_id} published. Facts withheld: {withheld}."
    raise web.HTTPSeeOther(f"{PAGE_PATH}?{_query(done=done)}")


def _query(**values: str) -> str:
    from urllib.parse import urlencode

    return urlencode(values)


async def version_page(request: web.Request) -> web.StreamResponse:
    source_id = request.match_info["source"]
    try:
        number = int(request.match_info["number"])
        knowledge = await asyncio.to_thread(_knowledge, request)
        if source_id not in knowledge.sources:
            raise VersionError(f"no source {source_id!r}")
        text = await asyncio.to_thread(version_text, knowledge, source_id, number)
    except (ValueError, VersionError) as exc:
        return error_response(request, 404, f"{exc}.")
    return render("knowledge_version.html", await _context(request, source=knowledge.sources[source_id],
                                                            number=number, text=text))


async def confirm_from_page(request: web.Request) -> web.StreamResponse:
    fact_id = request.match_info["fact"]
    try:
        await asyncio.to_thread(_confirm, _desk(request), fact_id, request[USER_KEY])
    except REFUSED as exc:
        return await page(request, status=422, error=str(exc))
    raise web.HTTPSeeOther(f"{PAGE_PATH}?{_query(done=f'Fact {fact_id} is stated again.')}")


def _lines(value: Any) -> list[str]:
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]


def _given_from_form(form: Any) -> dict[str, Any]:
    """The fact as the editor's form gives it: one phrasing or quote per line."""
    def pair(name: str) -> dict[str, str]:
        return {lang: str(form.get(f"{name}_{lang}") or "") for lang in LANGUAGES}

    return {
        "topic": str(form.get("topic") or ""),
        "title": pair("title"),
        "text": pair("text"),
        "translated": [lang for lang in LANGUAGES if form.get(f"translated_{lang}") == "yes"],
        "keys": {lang: _lines(form.get(f"keys_{lang}")) for lang in LANGUAGES},
        "quotes": _lines(form.get("quotes")),
        "follow_ups": [f.strip() for f in str(form.get("follow_ups") or "").replace(",", " ").split() if f.strip()],
    }


def _draft_from_raw(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "topic": raw.get("topic", ""),
        "title": raw.get("title") or {},
        "text": raw.get("text") or {},
        "translated": list(raw.get("translated") or []),
        "keys": raw.get("keys") or {},
        "quotes": [q.get("text", "") if isinstance(q, dict) else str(q) for q in raw.get("quotes") or []],
        "follow_ups": list(raw.get("follow_ups") or []),
    }


async def fact_page(
    request: web.Request, draft: dict[str, Any] | None = None, *, status: int = 200, error: str | None = None,
    notice: str | None = None, tried: dict[str, Any] | None = None,
) -> web.StreamResponse:
    fact_id = request.match_info["fact"]
    create = fact_id == "new"
    knowledge = await asyncio.to_thread(_knowledge, request)
    raws = await asyncio.to_thread(raw_facts, _desk(request).config.knowledge_dir)
    if draft is None:
        if create:
            draft = {"topic": "", "title": {}, "text": {}, "translated": [], "quotes": [], "follow_ups": [],
                     "keys": {lang: request.query.getall(f"keys_{lang}", []) for lang in LANGUAGES}}
        elif fact_id in raws:
            draft = _draft_from_raw(raws[fact_id])
        else:
            return error_response(request, 404, f"No fact {fact_id!r}.")
    fact = knowledge.facts.get(fact_id)
    sources = [{"id": s.id, "title": s.title, "text": s.text, "pages": list(s.pages)}
               for s in knowledge.sources.values()]
    context = await _context(
        request, fact_id=fact_id, create=create, draft=draft, topics=TOPICS, languages=LANGUAGES,
        withheld=fact.withheld if fact else "", sources=sources, error=error, notice=notice, tried=tried,
        new_id=request.query.get("fact", "") if create else fact_id,
    )
    return render("knowledge_fact.html", context, status=status)


async def fact_from_page(request: web.Request) -> web.StreamResponse:
    fact_id = request.match_info["fact"]
    form = await request.post()
    given = _given_from_form(form)
    action = str(form.get("action") or "check")
    create = fact_id == "new"
    target = str(form.get("id") or "").strip() if create else fact_id
    desk = _desk(request)
    if action == "try":
        question = str(form.get("question") or "").strip()
        language = str(form.get("try_language") or "")
        if not question:
            return await fact_page(request, given, status=422, error="Type a question to try.")
        if len(question) > MAX_TRY_CHARS or language not in ("", "en", "fi"):
            return await fact_page(request, given, status=422,
                                   error=f"A question to try is at most {MAX_TRY_CHARS} characters, in en or fi.")
        try:
            tried = await asyncio.to_thread(_try_draft, desk, target, given, create, question, language or None)
        except (*REFUSED, FactRefused) as exc:
            return await fact_page(request, given, status=422, error=str(exc))
        except IndexNotReady as exc:
            return await fact_page(request, given, status=503, error=f"The knowledge index is not ready: {exc}")
        return await fact_page(request, given, tried=tried,
                               notice="The reply with the draft, which is not published: the bot's users still get "
                                      "the published fact.")
    try:
        if action == "publish":
            await asyncio.to_thread(_save_fact, desk, target, given, create, request[USER_KEY])
        else:
            await asyncio.to_thread(plan_fact, desk.config.knowledge_dir, target, given, create)
    except REFUSED as exc:
        return await fact_page(request, given, status=422, error=str(exc))
    if action == "publish":
        done = f"Fact {target} published; the bot answers with it once the index is rebuilt (seconds)."
        raise web.HTTPSeeOther(f"{PAGE_PATH}?{_query(done=done)}")
    return await fact_page(request, given, notice="The fact passes the checks. Publish it to write it.")


# --- the API -------------------------------------------------------------------------------------------------------


def _api_error(request: web.Request, exc: Exception) -> web.Response:
    if isinstance(exc, BadUpload):
        return error_response(request, exc.status, str(exc))
    return error_response(request, 422, str(exc))


async def api_overview(request: web.Request) -> web.StreamResponse:
    try:
        return web.json_response(await asyncio.to_thread(_overview, _desk(request)))
    except KnowledgeError as exc:
        return error_response(request, 500, f"the knowledge does not load: {exc}")


@large_bodies
async def api_upload(request: web.Request) -> web.StreamResponse:
    source_id = request.match_info["source"]
    try:
        fmt, content, name = await _read_upload(request)
        upload_id = await asyncio.to_thread(_save_upload, _desk(request), source_id, fmt, content, name,
                                            request[USER_KEY])
        upload = _uploads(request).load(upload_id)
        assert upload is not None
        return web.json_response(await asyncio.to_thread(_compare, _desk(request), upload), status=201)
    except BadUpload as exc:
        return _api_error(request, exc)


async def api_upload_get(request: web.Request) -> web.StreamResponse:
    try:
        upload, _ = _upload(request)
        return web.json_response(await asyncio.to_thread(_compare, _desk(request), upload))
    except BadUpload as exc:
        return _api_error(request, exc)


async def api_publish(request: web.Request) -> web.StreamResponse:
    try:
        body = await _json(request)
        updated, note = body.get("updated") or "", body.get("note") or ""
        if not isinstance(updated, str) or not isinstance(note, str):
            raise BadUpload(422, "updated and note must be text")
        upload, _ = _upload(request)
        summary = await asyncio.to_thread(_publish, _desk(request), upload, request[USER_KEY], updated, note)
    except (BadUpload, *REFUSED) as exc:
        return _api_error(request, exc)
    return web.json_response({"published": summary, "index": await asyncio.to_thread(_desk(request).index_status)})


async def api_version(request: web.Request) -> web.StreamResponse:
    source_id = request.match_info["source"]
    try:
        number = int(request.match_info["number"])
        knowledge = await asyncio.to_thread(_knowledge, request)
        if source_id not in knowledge.sources:
            raise VersionError(f"no source {source_id!r}")
        text = await asyncio.to_thread(version_text, knowledge, source_id, number)
        listed = {v.number: v for v in versions(knowledge, source_id)}
    except (ValueError, VersionError) as exc:
        return error_response(request, 404, str(exc))
    return web.json_response({**listed[number].as_json(), "pages": list(listed[number].pages), "text": text})


async def api_confirm(request: web.Request) -> web.StreamResponse:
    try:
        summary = await asyncio.to_thread(_confirm, _desk(request), request.match_info["fact"], request[USER_KEY])
    except REFUSED as exc:
        return _api_error(request, exc)
    return web.json_response({"confirmed": summary, "index": await asyncio.to_thread(_desk(request).index_status)})


async def api_fact(request: web.Request) -> web.StreamResponse:
    raws = await asyncio.to_thread(raw_facts, _desk(request).config.knowledge_dir)
    fact = raws.get(request.match_info["fact"])
    if fact is None:
        return error_response(request, 404, "no such fact")
    return web.json_response({"fact": json.loads(json.dumps(fact, default=str))})


async def api_save_fact(request: web.Request) -> web.StreamResponse:
    """POST /api/knowledge/facts/<id> {"fact": {topic, title, text, translated, keys, quotes, follow_ups},
    "create": false, "check_only": false}: 200 with the fact written (or only checked), 422 with the reason."""
    fact_id = request.match_info["fact"]
    desk = _desk(request)
    try:
        body = await _json(request)
        given, create, check_only = body.get("fact"), body.get("create", False), body.get("check_only", False)
        if not isinstance(given, dict) or not isinstance(create, bool) or not isinstance(check_only, bool):
            raise BadUpload(422, 'send {"fact": {…}, "create": true|false, "check_only": true|false}')
        if check_only:
            _, raw = await asyncio.to_thread(plan_fact, desk.config.knowledge_dir, fact_id, given, create)
            return web.json_response({"checked": raw})
        summary = await asyncio.to_thread(_save_fact, desk, fact_id, given, create, request[USER_KEY])
    except (BadUpload, FactRefused, *REFUSED) as exc:
        return _api_error(request, exc)
    return web.json_response({"saved": summary, "index": await asyncio.to_thread(desk.index_status)})


def setup_knowledge(app: web.Application) -> None:
    """Routes of the Knowledge page and API; the Review desk (bot/web/review.py) holds the lock and the rebuild."""
    source, upload = "{source:[a-z0-9][a-z0-9_-]{0,63}}", "{upload:[0-9a-f]{16}}"
    app.router.add_get(PAGE_PATH, page)
    app.router.add_post(f"{PAGE_PATH}/sources/{source}/uploads", upload_from_page)
    app.router.add_get(f"{PAGE_PATH}/sources/{source}/uploads/{upload}", upload_page)
    app.router.add_post(f"{PAGE_PATH}/sources/{source}/uploads/{upload}/publish", publish_from_page)
    app.router.add_get(f"{PAGE_PATH}/sources/{source}/versions/{{number:[0-9]{{1,6}}}}", version_page)
    app.router.add_post(f"{PAGE_PATH}/facts/{{fact}}/confirm", confirm_from_page)
    app.router.add_get(f"{PAGE_PATH}/facts/{{fact}}", fact_page)
    app.router.add_post(f"{PAGE_PATH}/facts/{{fact}}", fact_from_page)
    app.router.add_get(API_PATH, api_overview)
    app.router.add_post(f"{API_PATH}/sources/{source}/uploads", api_upload)
    app.router.add_get(f"{API_PATH}/sources/{source}/uploads/{upload}", api_upload_get)
    app.router.add_post(f"{API_PATH}/sources/{source}/uploads/{upload}/publish", api_publish)
    app.router.add_get(f"{API_PATH}/sources/{source}/versions/{{number:[0-9]{{1,6}}}}", api_version)
    app.router.add_post(f"{API_PATH}/facts/{{fact}}/confirm", api_confirm)
    app.router.add_get(f"{API_PATH}/facts/{{fact}}", api_fact)
    app.router.add_post(f"{API_PATH}/facts/{{fact}}", api_save_fact)

