"""The widget's suggested questions before the first message: the knowledge base's menu (the topic buttons
the bot shows after a greeting), as JSON at /static/widget/topics.json?lang=fi|en.

Served by the back office, which serves the widget's files, so that opening the chat starts no conversation
on the Rasa server: the buttons' payloads are the bot's own (`/answer_fact{"fact_id": …}`), sent only when
the user presses one. Titles come from knowledge/facts.yml, read again when it changes (a fact published
from Review shows without a restart)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.knowledge.store import LANGUAGES, KnowledgeError, load_knowledge
from bot.settings import get_settings

logger = logging.getLogger(__name__)

TOPICS_PATH = "/static/widget/topics.json"
MAX_AGE_SECONDS = 300


@lru_cache(maxsize=4)
def _menu(root: Path, _mtime: float) -> tuple[tuple[str, dict[str, str]], ...]:
    knowledge = load_knowledge(root)
    return tuple((fact_id, dict(knowledge.facts[fact_id].title)) for fact_id in knowledge.menu)


def topic_buttons(root: Path, lang: str) -> list[dict[str, str]]:
    """The menu's buttons in lang (a title missing in lang falls back to English, as the bot's do)."""
    menu = _menu(root, os.stat(root / "facts.yml").st_mtime)
    return [
        {
            "title": titles.get(lang) or titles.get("en") or fact_id,
            "payload": "/answer_fact" + json.dumps({"fact_id": fact_id}, separators=(",", ":")),
        }
        for fact_id, titles in menu
    ]


async def topics(request: web.Request) -> web.Response:
    lang = request.query.get("lang", "fi")
    if lang not in LANGUAGES:
        return web.json_response({"error": f"lang must be one of {', '.join(LANGUAGES)}"}, status=400)
    body: dict[str, Any] = {"lang": lang, "buttons": []}
    try:
        # Reading the knowledge (with its quote checks) takes ~0.2 s after each change: not on the event loop.
        body["buttons"] = await asyncio.to_thread(topic_buttons, get_settings().knowledge_dir, lang)
    except (OSError, KnowledgeError) as error:
        # The widget then greets without suggestions; the bot itself reports the broken knowledge.
        logger.warning("widget topics unavailable: %s", error)
    response = web.json_response(body)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE_SECONDS}"
    return response
