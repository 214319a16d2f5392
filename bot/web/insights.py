"""The Insights page: how the assistant is doing, for a chosen period, from what the bot recorded.

- GET /inbox/insights?from=YYYY-MM-DD&to=YYYY-MM-DD[&channel=web|telegram|rest][&language=en|fi][&tests=1]: the page
  (signed in, as everything under /inbox); GET /insights sends the browser there.
- GET /api/insights?… : the page's figures as JSON (the API's session or token rules, bot/web/auth.py).
- GET /api/insights.csv?…&table=summary|daily|hours|facts: one table as CSV (aggregates only).

Without `from`/`to` the period is the last 30 days up to today. Test traffic (REST senders "test-…", "faq-…",
"bench-…", "profile-…": bot/analytics/test_traffic.py) is left out unless `tests=1`. Days, hours and weekdays
are those of the handoff's time zone (RIS3_HANDOFF_TIMEZONE, Europe/Helsinki by default): the council's working day.
The figures are computed on each request from Rasa's tracker store (bot/analytics); nothing is cached or
copied, so the conversation purge removes what they are made of. What each figure means: docs/insights.md.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from aiohttp import web

from bot.analytics.insights import FIGURES, LANGUAGES, TABLES, csv_table, insights
from bot.analytics.turns import CHANNELS, load_turns
from bot.handoff.conversations import TrackerStoreUnavailable
from bot.settings import get_settings
from bot.web.auth import USER_KEY
from bot.web.errors import error_response
from bot.web.keys import HANDOFF_SETTINGS
from bot.web.privacy_requests import user_erasures
from bot.web.sessions import csrf_token
from bot.web.templates import render

logger = logging.getLogger(__name__)

PAGE_PATH = "/inbox/insights"
API_PATH = "/api/insights"
CSV_PATH = "/api/insights.csv"
DEFAULT_DAYS = 30
# A longer period is refused: one request reads every conversation of the period (conversations are kept
# RIS3_HANDOFF_RETENTION_DAYS, 90 by default, so a year covers whatever a deployment keeps).
MAX_DAYS = 366
CHANNEL_LABELS = {"web": "Website chat", "telegram": "Telegram", "rest": "REST", "other": "Other"}
LANGUAGE_LABELS = {"en": "English", "fi": "Finnish"}
FIGURE_LABELS = {
    "conversations": "Conversations",
    "user_messages": "User messages",
    "questions": "Questions",
    "answered": "Answered",
    "answered_share": "Answered share",
    "hedged": "Said to be uncertain",
    "dont_know": "Don't know",
    "dont_know_share": "Don't-know share",
    "clarifications": "Questions back",
    "handoffs_started": "Handoffs started",
    "handoffs_submitted": "Handoffs submitted",
    "handoff_rate": "Handoff rate",
    "buttons": "Follow-up buttons",
    "helpful": "Helpful (feedback)",
    "not_helpful": "Not helpful (feedback)",
    "helpful_share": "Helpful share",
}


class BadPeriod(ValueError):
    """The query's period or filter cannot be used; the message says how to write it."""


def _zone(request: web.Request) -> tzinfo:
    name = request.app[HANDOFF_SETTINGS].timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("insights: unknown time zone %r (RIS3_HANDOFF_TIMEZONE), using UTC", name)
        return timezone.utc


# Conversations cannot predate the bot nor lie centuries ahead; bounding the dates keeps a period's day
# arithmetic and its conversion to time stamps inside what datetime can hold (year 1 and 9999 overflow).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


def _day(value: str, name: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadPeriod(f"{name} must be a date written YYYY-MM-DD") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadPeriod(f"{name} must be a date between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}")
    return day


def read_query(query: Any, today: date) -> tuple[date, date, str | None, str | None]:
    """(first day, last day, channel, language) from the query string; raises BadPeriod."""
    last = _day(query["to"], "to") if query.get("to") else today
    default_first = max(last - timedelta(days=DEFAULT_DAYS - 1), FIRST_DAY)
    first = _day(query["from"], "from") if query.get("from") else default_first
    if first > last:
        raise BadPeriod("from must not be after to")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadPeriod(f"the period may be at most {MAX_DAYS} days")
    channel = query.get("channel") or None
    if channel is not None and channel not in CHANNELS:
        raise BadPeriod(f"channel must be one of {', '.join(CHANNELS)}")
    language = query.get("language") or None
    if language is not None and language not in LANGUAGES:
        raise BadPeriod(f"language must be one of {', '.join(LANGUAGES)}")
    return first, last, channel, language


@lru_cache(maxsize=4)
def _titles_of(path: Path, modified: float) -> dict[str, dict[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    titles: dict[str, dict[str, str]] = {}
    for fact in data.get("facts") or []:
        if isinstance(fact, dict) and isinstance(fact.get("id"), str):
            title = fact.get("title") or {}
            titles[fact["id"]] = {
                "topic": str(fact.get("topic") or ""),
                "title": str(title.get("en") or title.get("fi") or "") if isinstance(title, dict) else "",
            }
    return titles


def fact_titles() -> dict[str, dict[str, str]]:
    """Each fact's English button title and topic, from knowledge/facts.yml (re-read when it changes);
    the figures do without them (ids only) should the file be unreadable."""
    path = get_settings().knowledge_dir / "facts.yml"
    try:
        return _titles_of(path, os.stat(path).st_mtime)
    except (OSError, yaml.YAMLError):
        logger.warning("insights: fact titles unavailable (%s)", path)
        return {}


def include_tests(query: Any) -> bool:
    """`tests=1` counts test traffic in; raises BadPeriod for anything but 1 or 0 (or nothing)."""
    value = query.get("tests") or "0"
    if value not in ("0", "1"):
        raise BadPeriod("tests must be 1 (count test traffic in) or 0")
    return value == "1"


async def _figures(request: web.Request) -> dict[str, Any]:
    """The figures the query asks for; raises BadPeriod or TrackerStoreUnavailable."""
    zone = _zone(request)
    first, last, channel, language = read_query(request.query, datetime.now(zone).date())
    tests = include_tests(request.query)
    url = request.app[HANDOFF_SETTINGS].tracker_database_url
    turns = await asyncio.to_thread(load_turns, url, first, last, zone=zone)
    titles = await asyncio.to_thread(fact_titles)
    data = insights(
        turns, first, last, zone, titles=titles, channel=channel, language=language, include_tests=tests
    )
    # Conversations users erased themselves: counted from the privacy record, without content (docs/privacy.md).
    since = datetime.combine(first, time.min, zone)
    data["erased_by_users"] = await user_erasures(request.app, since, since + timedelta(days=(last - first).days + 1))
    return data


def _unavailable(request: web.Request, exc: TrackerStoreUnavailable) -> web.Response:
    logger.warning("insights: %s", exc)
    return error_response(request, 503, "The conversation store is unavailable; try again in a moment.")


def percent(value: float | None) -> str:
    # A no-break space: "83.3 %" never breaks between the number and its sign in a narrow column.
    return "–" if value is None else f"{value * 100:.1f}\u00a0%"


def _query_string(data: dict[str, Any], **extra: str) -> str:
    values = {"from": data["period"]["from"], "to": data["period"]["to"]}
    values.update({key: "1" if value is True else value for key, value in data["filter"].items() if value})
    values.update(extra)
    return urlencode(values)


async def page(request: web.Request) -> web.StreamResponse:
    try:
        data = await _figures(request)
    except BadPeriod as exc:
        return error_response(request, 400, f"{exc}.")
    except TrackerStoreUnavailable as exc:
        return _unavailable(request, exc)
    context = {
        "signed_in": request[USER_KEY],
        "csrf_token": await csrf_token(request),
        "data": data,
        "figures": FIGURES,
        "figure_labels": FIGURE_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "language_labels": LANGUAGE_LABELS,
        "channels": CHANNELS,
        "languages": LANGUAGES,
        "percent": percent,
        "csv_query": lambda table: _query_string(data, table=table),
    }
    return render("insights.html", context)


async def redirect_to_page(request: web.Request) -> web.StreamResponse:
    # The query as it came, still percent-encoded: a decoded line break would otherwise end up in a header.
    query = request.rel_url.raw_query_string
    raise web.HTTPFound(PAGE_PATH + (f"?{query}" if query else ""))


async def api_insights(request: web.Request) -> web.StreamResponse:
    try:
        return web.json_response(await _figures(request))
    except BadPeriod as exc:
        return error_response(request, 422, str(exc))
    except TrackerStoreUnavailable as exc:
        return _unavailable(request, exc)


async def api_csv(request: web.Request) -> web.StreamResponse:
    table = request.query.get("table", "summary")
    if table not in TABLES:
        return error_response(request, 422, f"table must be one of {', '.join(TABLES)}")
    try:
        data = await _figures(request)
    except BadPeriod as exc:
        return error_response(request, 422, str(exc))
    except TrackerStoreUnavailable as exc:
        return _unavailable(request, exc)
    name = f"ris3-insights-{table}-{data['period']['from']}-{data['period']['to']}.csv"
    return web.Response(
        text=csv_table(data, table),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def setup_insights(app: web.Application) -> None:
    app.router.add_get(PAGE_PATH, page)
    app.router.add_get("/insights", redirect_to_page)
    app.router.add_get(API_PATH, api_insights)
    app.router.add_get(CSV_PATH, api_csv)
