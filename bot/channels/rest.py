"""The REST channel (credentials.yml: `bot.channels.rest.RestInput`): Rasa's own, at the same address
(POST /webhooks/rest/webhook), except that a message the bot could not answer at all gets an apology with
the project manager's contact instead of an empty list (bot/channels/unanswered.py).

Runs in the Rasa runtime (Python 3.10, rasa 3.6).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint

from bot.channels.unanswered import guard


class RestInput(RasaRestInput):
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return super().blueprint(guard(on_new_message))
