"""The Review page: the questions the bot handled badly, grouped by meaning, and the staff's decisions on them
(bot/analytics/review.py; what staff do and what happens behind: docs/review.md).

- GET /inbox/review?from=YYYY-MM-DD&to=YYYY-MM-DD[&channel=…][&language=…]: the page (signed in, as everything
  under /inbox), with the state of the knowledge index and a "try it" box; POST /inbox/review/<group id>: a
  decision from the page's form; POST /inbox/review/try: ask the bot from the page.
- GET /api/review?…: the open groups (id, count, example questions, first/last seen, languages, channels, why),
  the index's state and the recent decisions; POST /api/review/<group id> with a JSON body
  {"decision": "fact" | "handoff" | "out_of_scope" | "new_fact", "fact": "<fact id>", "questions": […],
  "note": "…", "from": …, "to": …}: 200 with the decision, 409 when someone decided first (with who and when),
  404 when no open group has that id, 422 when the decision cannot be made as asked;
  GET /api/review/facts: the facts to choose from; POST /api/review/try {"question", "language"}: the bot's
  replies; POST /api/review/rebuild: build the knowledge index again (202, its state). POST /inbox/review/rebuild
  is the page's button for the same. The API's session and CSRF rules, or the scripts' token (bot/web/auth.py).

The period is that of the Insights page (the last 30 days by default); a group's id names its questions, which
depend on the period: a decision is made on the queue of the period it names.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from datetime import datetime, timezone, tzinfo
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from aiohttp import web

from bot.analytics.labelled import LABELLED_SET
from bot.analytics.review import (
    ASKED_BACK,
    DECISION_LABELS,
    DECISIONS,
    DECLINED,
    HANDOFF,
    HEDGED,
    LOW_CONFIDENCE,
    MAX_EXAMPLES,
    NOT_HELPFUL,
    TRY_SENDER_PREFIX,
    AlreadyDecided,
    DecisionRecord,
    GroupNotFound,
    ReviewConfig,
    ReviewDesk,
    ReviewError,
    ReviewGroup,
)
from bot.analytics.turns import CHANNELS, load_turns
from bot.faq.cases import DEFAULT_CASES
from bot.handoff.conversations import TrackerStoreUnavailable
from bot.settings import PROJECT_ROOT, get_settings
from bot.web.auth import USER_KEY
from bot.web.errors import error_response
from bot.web.insights import CHANNEL_LABELS, LANGUAGE_LABELS, BadPeriod, read_query
from bot.web.keys import HANDOFF_SETTINGS
from bot.web.sessions import csrf_token
from bot.web.templates import render

logger = logging.getLogger(__name__)

PAGE_PATH = "/inbox/review"
API_PATH = "/api/review"
# Set before the application starts to point the queue elsewhere (tests: a copy of knowledge/), or to hand it
# a desk of one's own; otherwise both come from the settings at start-up.
REVIEW_CONFIG = web.AppKey("review_config", ReviewConfig)
REVIEW_DESK = web.AppKey("review_desk", ReviewDesk)
REASON_LABELS = {
    DECLINED: "declined",
    ASKED_BACK: "asked back (“Do you mean …?”)",
    HEDGED: "answered unsure",
    LOW_CONFIDENCE: "low confidence",
    HANDOFF: "handoff",
    NOT_HELPFUL: "user said not helpful",
}
MAX_GROUPS_SHOWN = 100
MAX_TRY_CHARS = 500
TRY_TIMEOUT_SECONDS = 60
# The REST channel takes this token when it is set (bot/channels/rest.py): the "try it" box sends it too.
REST_TOKEN_ENV = "RIS3_REST_TOKEN"


def default_config(app: web.Application) -> ReviewConfig:
    settings, handoff = get_settings(), app[HANDOFF_SETTINGS]
    return ReviewConfig(
        knowledge_dir=settings.knowledge_dir,
        index_dir=settings.index_dir,
        embedding_model=settings.embedding_model,
        database_url=handoff.database_url,
        tracker_url=handoff.tracker_database_url,
        cases_dir=DEFAULT_CASES,
        nlu_dir=PROJECT_ROOT / "data" / "nlu",
        torch_threads=settings.torch_threads,
        labelled_path=LABELLED_SET,
        model_idle_seconds=settings.review_model_idle_seconds,
    )


async def _start_desk(app: web.Application) -> None:
    if REVIEW_DESK not in app:
        config = app[REVIEW_CONFIG] if REVIEW_CONFIG in app else default_config(app)
        app[REVIEW_DESK] = ReviewDesk(config)


async def _close_desk(app: web.Application) -> None:
    if REVIEW_DESK in app:
        app[REVIEW_DESK].close()


def _desk(request: web.Request) -> ReviewDesk:
    return request.app[REVIEW_DESK]


def _zone(request: web.Request) -> tzinfo:
    try:
        return ZoneInfo(request.app[HANDOFF_SETTINGS].timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


class Period:
    """The period and filters of a request, as the Insights page reads them."""

    def __init__(self, request: web.Request, values: Any) -> None:
        self.zone = _zone(request)
        self.first, self.last, self.channel, self.language = read_query(values, datetime.now(self.zone).date())

    @property
    def fields(self) -> dict[str, str]:
        values = {"from": self.first.isoformat(), "to": self.last.isoformat()}
        if self.channel:
            values["channel"] = self.channel
        if self.language:
            values["language"] = self.language
        return values

    def query(self, **extra: str) -> str:
        return urlencode({**self.fields, **extra})


async def _groups(request: web.Request, period: Period) -> list[ReviewGroup]:
    desk = _desk(request)
    turns = await asyncio.to_thread(load_turns, desk.config.tracker_url, period.first, period.last, zone=period.zone)
    return await asyncio.to_thread(desk.groups, turns, period.channel, period.language)


def _fact_choices(desk: ReviewDesk) -> list[dict[str, Any]]:
    return [
        {
            "id": fact.id,
            "topic": fact.topic,
            "title": fact.title.get("en") or "",
            "title_fi": fact.title.get("fi") or "",
            "text": fact.text.get("en") or "",
            "text_fi": fact.text.get("fi") or "",
            "kind": fact.kind,
        }
        for fact in desk.facts().values()
    ]


# --- the page ------------------------------------------------------------------------------------------------------


async def _page(
    request: web.Request,
    period: Period,
    *,
    status: int = 200,
    error: str | None = None,
    tried: dict[str, Any] | None = None,
) -> web.Response:
    desk = _desk(request)
    groups = await _groups(request, period)
    facts = await asyncio.to_thread(_fact_choices, desk)
    index = await asyncio.to_thread(desk.index_status)
    decisions = await asyncio.to_thread(desk.store.recent, 20)
    titles = {f["id"]: f["title"] for f in facts}
    notice = None
    for key in ("decided", "conflict"):
        group = request.query.get(key)
        if group:
            record = await asyncio.to_thread(desk.store.by_group, group)
            if record is not None:
                notice = {"kind": key, "record": record}
    context = {
        "signed_in": request[USER_KEY],
        "csrf_token": await csrf_token(request),
        "period": period,
        "groups": groups[:MAX_GROUPS_SHOWN],
        "hidden_groups": max(0, len(groups) - MAX_GROUPS_SHOWN),
        "open_groups": len(groups),
        "facts": facts,
        "fact_titles": titles,
        "index": index,
        "decisions": decisions,
        "notice": notice,
        "error": error,
        "tried": tried,
        "decision_labels": DECISION_LABELS,
        "reason_labels": REASON_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "language_labels": LANGUAGE_LABELS,
        "channels": CHANNELS,
        "languages": tuple(LANGUAGE_LABELS),
        "max_examples": MAX_EXAMPLES,
        "closest_fact": lambda group: next((f for f, _ in group.closest.most_common() if f in titles), None),
        "counts": lambda counter, labels: ", ".join(f"{labels.get(k, k)} {n}" for k, n in counter.most_common()),
    }
    return render("review.html", context, status=status)


async def page(request: web.Request) -> web.StreamResponse:
    try:
        period = Period(request, request.query)
    except BadPeriod as exc:
        return error_response(request, 400, f"{exc}.")
    try:
        return await _page(request, period)
    except TrackerStoreUnavailable as exc:
        return _unavailable(request, exc)


async def decide_from_page(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        period = Period(request, form)
    except BadPeriod as exc:
        return error_response(request, 400, f"{exc}.")
    group = request.match_info["group"]
    questions = [str(value) for value in form.getall("question", [])]
    decision = str(form.get("decision") or "")
    try:
        groups = await _groups(request, period)
        await asyncio.to_thread(
            _desk(request).decide,
            groups,
            group,
            decision,
            request[USER_KEY],
            str(form.get("fact") or "").strip() or None,
            questions,
            str(form.get("note") or ""),
            form.get("label") == "yes",
        )
    except AlreadyDecided:
        raise web.HTTPSeeOther(f"{PAGE_PATH}?{period.query(conflict=group)}#notice") from None
    except ReviewError as exc:
        return await _page(request, period, status=404 if isinstance(exc, GroupNotFound) else 422, error=str(exc))
    except TrackerStoreUnavailable as exc:
        return _unavailable(request, exc)
    raise web.HTTPSeeOther(f"{PAGE_PATH}?{period.query(decided=group)}#notice")


async def try_from_page(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        period = Period(request, form)
    except BadPeriod as exc:
        return error_response(request, 400, f"{exc}.")
    question = str(form.get("question") or "").strip()
    language = str(form.get("try_language") or "") or None
    try:
        if not question:
            return await _page(request, period, status=422, error="Type a question to ask the bot.")
        tried = await ask_bot(request, question, language)
        return await _page(request, period, tried=tried)
    except TrackerStoreUnavailable as exc:
        return _unavailable(request, exc)


async def rebuild_from_page(request: web.Request) -> web.StreamResponse:
    """Builds the index again (after a failure whose cause was fixed, or knowledge edited by hand)."""
    form = await request.post()
    try:
        period = Period(request, form)
    except BadPeriod as exc:
        return error_response(request, 400, f"{exc}.")
    _desk(request).rebuild.request()
    logger.info("review: %s asked for a rebuild of the knowledge index", request[USER_KEY])
    raise web.HTTPSeeOther(f"{PAGE_PATH}?{period.query()}#index-heading")


def _unavailable(request: web.Request, exc: TrackerStoreUnavailable) -> web.Response:
    logger.warning("review: %s", exc)
    return error_response(request, 503, "The conversation store is unavailable; try again in a moment.")


# --- asking the bot ------------------------------------------------------------------------------------------------


async def ask_bot(request: web.Request, question: str, language: str | None) -> dict[str, Any]:
    """The bot's replies to one question in a conversation of its own, over its REST channel, as a user gets
    them; {"question", "replies": [{"text", "buttons"}], "error"}."""
    question = question[:MAX_TRY_CHARS]
    url = request.app[HANDOFF_SETTINGS].rasa_url.rstrip("/") + "/webhooks/rest/webhook"
    body: dict[str, Any] = {"sender": f"{TRY_SENDER_PREFIX}{uuid.uuid4().hex[:12]}", "message": question}
    if language in LANGUAGE_LABELS:
        body["metadata"] = {"language": language}
    headers = {}
    token = os.environ.get(REST_TOKEN_ENV, "").strip()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    result: dict[str, Any] = {"question": question, "language": language, "replies": [], "error": None}
    try:
        timeout = aiohttp.ClientTimeout(total=TRY_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
            url, json=body, headers=headers
        ) as response:
            data = await response.json(content_type=None)
            if response.status != 200 or not isinstance(data, list):
                result["error"] = f"the bot answered with HTTP {response.status}"
                return result
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        logger.warning("review: asking the bot at %s failed (%s)", url, type(exc).__name__)
        result["error"] = "the bot could not be reached; is it running?"
        return result
    for message in data:
        if isinstance(message, dict):
            buttons = [str(b.get("title") or "") for b in message.get("buttons") or [] if isinstance(b, dict)]
            result["replies"].append({"text": str(message.get("text") or ""), "buttons": buttons})
    return result


# --- the API -------------------------------------------------------------------------------------------------------


def _groups_json(groups: list[ReviewGroup], facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [f["id"] for f in facts]
    return [group.as_json(ids) for group in groups]


async def api_review(request: web.Request) -> web.StreamResponse:
    try:
        period = Period(request, request.query)
        groups = await _groups(request, period)
    except BadPeriod as exc:
        return error_response(request, 422, str(exc))
    except TrackerStoreUnavailable as exc:
        return _unavailable(request, exc)
    desk = _desk(request)
    facts = await asyncio.to_thread(_fact_choices, desk)
    return web.json_response(
        {
            "period": period.fields,
            "groups": _groups_json(groups, facts),
            "decisions_allowed": list(DECISIONS),
            "index": await asyncio.to_thread(desk.index_status),
            "decisions": [record.as_json() for record in await asyncio.to_thread(desk.store.recent, 20)],
        }
    )


async def api_facts(request: web.Request) -> web.StreamResponse:
    return web.json_response({"facts": await asyncio.to_thread(_fact_choices, _desk(request))})


async def _json_body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = json.loads(await request.text() or "{}")
    except json.JSONDecodeError as exc:
        return error_response(request, 400, f"the body is not valid JSON: {exc}")
    except UnicodeDecodeError:
        return error_response(request, 400, "the body is not valid UTF-8 text")
    if not isinstance(body, dict):
        return error_response(request, 400, 'the body must be a JSON object such as {"decision": "out_of_scope"}')
    return body


def _conflict(record: DecisionRecord) -> web.Response:
    return web.json_response(
        {
            "error": f"this group was already decided by {record.decided_by}",
            "decided_by": record.decided_by,
            "decided_at": record.decided_at.isoformat(),
            "decision": record.as_json(),
        },
        status=409,
    )


async def api_decide(request: web.Request) -> web.StreamResponse:
    body = await _json_body(request)
    if isinstance(body, web.Response):
        return body
    questions = body.get("questions")
    if questions is not None and not (isinstance(questions, list) and all(isinstance(q, str) for q in questions)):
        return error_response(request, 422, "questions must be a list of the group's question texts")
    fact, note, decision = body.get("fact"), body.get("note") or "", body.get("decision")
    if not isinstance(decision, str) or not isinstance(note, str) or not (fact is None or isinstance(fact, str)):
        return error_response(request, 422, f"decision must be one of {', '.join(DECISIONS)}; fact and note strings")
    label = body.get("label", False)
    if not isinstance(label, bool):
        return error_response(request, 422, "label must be true or false")
    values = {key: body[key] for key in ("from", "to", "channel", "language") if isinstance(body.get(key), str)}
    try:
        period = Period(request, {**request.query, **values})
        groups = await _groups(request, period)
        desk = _desk(request)
        record = await asyncio.to_thread(
            desk.decide, groups, request.match_info["group"], decision, request[USER_KEY], fact, questions, note, label
        )
    except BadPeriod as exc:
        return error_response(request, 422, str(exc))
    except AlreadyDecided as exc:
        return _conflict(exc.record)
    except GroupNotFound as exc:
        return error_response(request, 404, str(exc))
    except ReviewError as exc:
        return error_response(request, 422, str(exc))
    except TrackerStoreUnavailable as exc:
        return _unavailable(request, exc)
    return web.json_response({"decision": record.as_json(), "index": await asyncio.to_thread(desk.index_status)})


async def api_rebuild(request: web.Request) -> web.StreamResponse:
    desk = _desk(request)
    desk.rebuild.request()
    logger.info("review: %s asked for a rebuild of the knowledge index (API)", request[USER_KEY])
    return web.json_response({"index": await asyncio.to_thread(desk.index_status)}, status=202)


async def api_try(request: web.Request) -> web.StreamResponse:
    body = await _json_body(request)
    if isinstance(body, web.Response):
        return body
    question, language = body.get("question"), body.get("language")
    if not isinstance(question, str) or not question.strip():
        return error_response(request, 422, "question must be a non-empty string")
    result = await ask_bot(request, question.strip(), language if isinstance(language, str) else None)
    return web.json_response(result, status=502 if result["error"] else 200)


def setup_review(app: web.Application) -> None:
    app.router.add_get(PAGE_PATH, page)
    app.router.add_post(f"{PAGE_PATH}/try", try_from_page)
    app.router.add_post(f"{PAGE_PATH}/rebuild", rebuild_from_page)
    app.router.add_post(PAGE_PATH + "/{group:[0-9a-f]{16}}", decide_from_page)
    app.router.add_get(API_PATH, api_review)
    app.router.add_get(f"{API_PATH}/facts", api_facts)
    app.router.add_post(f"{API_PATH}/try", api_try)
    app.router.add_post(f"{API_PATH}/rebuild", api_rebuild)
    app.router.add_post(API_PATH + "/{group}", api_decide)
    app.on_startup.append(_start_desk)
    app.on_cleanup.append(_close_desk)
