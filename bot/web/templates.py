"""Server-side pages: Jinja2 with autoescaping for every template, so ticket text is never markup."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Navigation:
    """The pages the signed-in account may open, (path, label) in order, and its home page among them."""

    links: tuple[tuple[str, str], ...]
    home: str


# Set by the role check (bot/web/roles.py) for each request of a signed-in account; base.html shows it.
NAVIGATION: contextvars.ContextVar[Navigation | None] = contextvars.ContextVar("ris3_navigation", default=None)


def format_time(value: datetime | str | None) -> str:
    """Times as the manager reads them: minutes, UTC, also for the ISO strings of the transcript."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
        except ValueError:
            return value  # shown as stored rather than hidden
        value = parsed
    return value.strftime("%Y-%m-%d %H:%M UTC")


@lru_cache(maxsize=1)
def environment() -> Environment:
    # autoescape=True for every template, not only *.html: nothing rendered here is trusted markup.
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)
    env.filters["time"] = format_time
    env.globals["navigation"] = NAVIGATION.get
    return env


def render(name: str, context: dict[str, Any], status: int = 200) -> web.Response:
    text = environment().get_template(name).render(**context)
    return web.Response(status=status, text=text, content_type="text/html", charset="utf-8")
