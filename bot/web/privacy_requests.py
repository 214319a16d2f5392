"""Requests to staff about a person's data (docs/privacy.md): find everything kept about someone by a ticket
reference, an e-mail address, a phone number or a Telegram user id; export it (JSON, and a page to read or
print) or erase it. Each export and erasure is recorded with who, when and how much, never the data itself
(bot.privacy.log). The work is bot.privacy.records, the implementation the user's own erasure and the retention
purge use.

Pages: GET /inbox/privacy (find, with the record of recent actions), GET /inbox/privacy/export (readable),
POST /inbox/privacy/erase (with a confirmation box). API, for scripts: GET /api/privacy, GET /api/privacy/export,
POST /api/privacy/erase with {"kind": …, "value": …}.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.privacy import log
from bot.privacy.records import KEY_KINDS, BadKey, PersonalData, PrivacyStoreUnavailable, Subject
from bot.web.auth import USER_KEY
from bot.web.errors import error_response
from bot.web.keys import HANDOFF_SETTINGS
from bot.web.sessions import csrf_token
from bot.web.templates import render

PAGE_PATH, API_PATH = "/inbox/privacy", "/api/privacy"
DATA = web.AppKey("privacy_data", PersonalData)
LOOKUPS = {kind: KEY_KINDS[kind] for kind in ("reference", "email", "phone", "telegram")}


async def _data(app: web.Application) -> AsyncIterator[None]:
    settings = app[HANDOFF_SETTINGS]
    app[DATA] = PersonalData(settings.database_url, settings.tracker_database_url)
    yield
    app[DATA].close()


def _key(fields: Any) -> tuple[str, str]:
    kind, value = str(fields.get("kind") or ""), str(fields.get("value") or "")
    if kind not in LOOKUPS:
        raise BadKey(f"look up by one of: {', '.join(LOOKUPS)}")
    return kind, value


async def _find(request: web.Request, fields: Any) -> tuple[str, str, Subject]:
    kind, value = _key(fields)
    subject = await asyncio.to_thread(request.app[DATA].find, kind, value)
    return kind, value, subject


def _refused(request: web.Request, exc: Exception) -> web.Response:
    if isinstance(exc, BadKey):
        return error_response(request, 400, f"Cannot look that up: {exc}.")
    return error_response(request, 503, "A database is unavailable; try again in a moment.")


async def _summary(request: web.Request, subject: Subject) -> dict[str, Any]:
    """What was found, without the data: tickets by reference and status, conversations by size."""
    exported = await asyncio.to_thread(request.app[DATA].preview, subject)
    return exported


async def page(request: web.Request) -> web.StreamResponse:
    context: dict[str, Any] = {
        "signed_in": request[USER_KEY],
        "csrf_token": await csrf_token(request),
        "lookups": LOOKUPS,
        "kind": request.query.get("kind", "reference"),
        "value": request.query.get("value", ""),
        "found": None,
        "error": None,
        "done": request.query.get("done"),
    }
    if request.query.get("value"):
        try:
            _, _, subject = await _find(request, request.query)
            context["found"] = await _summary(request, subject)
        except BadKey as exc:
            context["error"] = str(exc)
        except PrivacyStoreUnavailable as exc:
            return _refused(request, exc)
    context["recent"] = await asyncio.to_thread(log.recent, request.app[DATA].handoff, 20)
    return render("privacy.html", context, status=400 if context["error"] else 200)


async def export_page(request: web.Request) -> web.StreamResponse:
    try:
        kind, value, subject = await _find(request, request.query)
        exported = await asyncio.to_thread(request.app[DATA].export, subject, request[USER_KEY], LOOKUPS[kind])
    except (BadKey, PrivacyStoreUnavailable) as exc:
        return _refused(request, exc)
    context = {"signed_in": request[USER_KEY], "csrf_token": await csrf_token(request), "data": exported,
               "key": f"{LOOKUPS[kind]} {value}"}
    return render("privacy_export.html", context)


async def erase_from_page(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    if form.get("confirm") != "yes":
        return error_response(request, 422, "Tick the box to confirm the erasure; nothing was erased.")
    try:
        kind, _, subject = await _find(request, form)
        erased = await asyncio.to_thread(
            request.app[DATA].erase, subject, requested_by=log.BY_STAFF, actor=request[USER_KEY],
            found_by=LOOKUPS[kind],
        )
    except (BadKey, PrivacyStoreUnavailable) as exc:
        return _refused(request, exc)
    raise web.HTTPSeeOther(f"{PAGE_PATH}?done={erased.conversations}+conversations,+{erased.tickets}+tickets")


async def api_find(request: web.Request) -> web.StreamResponse:
    try:
        _, _, subject = await _find(request, request.query)
        return web.json_response(await _summary(request, subject))
    except (BadKey, PrivacyStoreUnavailable) as exc:
        return _refused(request, exc)


async def api_export(request: web.Request) -> web.StreamResponse:
    try:
        kind, _, subject = await _find(request, request.query)
        exported = await asyncio.to_thread(request.app[DATA].export, subject, request[USER_KEY], LOOKUPS[kind])
    except (BadKey, PrivacyStoreUnavailable) as exc:
        return _refused(request, exc)
    return web.Response(
        text=json.dumps(exported, ensure_ascii=False, indent=2), content_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="ris3-personal-data.json"'},
    )


async def api_erase(request: web.Request) -> web.StreamResponse:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return error_response(request, 400, 'Send JSON: {"kind": "email", "value": "…"}.')
    if not isinstance(body, dict):
        return error_response(request, 400, 'Send JSON: {"kind": "email", "value": "…"}.')
    try:
        kind, _, subject = await _find(request, body)
        erased = await asyncio.to_thread(
            request.app[DATA].erase, subject, requested_by=log.BY_STAFF, actor=request[USER_KEY],
            found_by=LOOKUPS[kind],
        )
    except (BadKey, PrivacyStoreUnavailable) as exc:
        return _refused(request, exc)
    return web.json_response({"erased": erased.as_counts()})


async def user_erasures(app: web.Application, since: datetime, until: datetime) -> dict[str, Any] | None:
    """Conversations users erased themselves in [since, until), by channel, for Insights (counts only); None
    when the record cannot be read (the rest of Insights still shows)."""
    try:
        counts = await asyncio.to_thread(log.user_erasures, app[DATA].handoff, since, until)
    except (SQLAlchemyError, KeyError):
        return None
    return {"total": sum(counts.values()), "by_channel": dict(sorted(counts.items()))}


def setup_privacy_requests(app: web.Application) -> None:
    app.router.add_get(PAGE_PATH, page)
    app.router.add_get(f"{PAGE_PATH}/export", export_page)
    app.router.add_post(f"{PAGE_PATH}/erase", erase_from_page)
    app.router.add_get(API_PATH, api_find)
    app.router.add_get(f"{API_PATH}/export", api_export)
    app.router.add_post(f"{API_PATH}/erase", api_erase)
    app.cleanup_ctx.append(_data)
