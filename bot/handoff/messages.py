"""The notification the manager receives: plain text for e-mail and Telegram, JSON for the webhook."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.handoff.models import Ticket

try:
    # The manager reads times in Finnish time; UTC only where the time zone database is missing.
    LOCAL_TIME: tzinfo | None = ZoneInfo("Europe/Helsinki")
except ZoneInfoNotFoundError:
    LOCAL_TIME = None

SHORTENED = "… (the conversation is shortened here; the e-mail and the back office have all of it)"


def _local(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TIME).strftime("%d.%m.%Y %H:%M %Z") if LOCAL_TIME else moment.isoformat()


def _clock(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone(LOCAL_TIME).strftime("%H:%M")
    except ValueError:
        return "--:--"


def subject(ticket: Ticket) -> str:
    # No name in the subject: subjects show up in notifications and mail server logs.
    return f"RIS3 assistant: contact request {ticket.reference}"


def render_text(ticket: Ticket, max_chars: int | None = None) -> str:
    """Reference, who, how to reach them, the question, then the conversation; cut to max_chars by
    shortening the conversation, never the details the manager needs to answer."""
    head = "\n".join(
        [
            f"Contact request {ticket.reference} from the RIS3 assistant",
            "",
            f"Reference: {ticket.reference}",
            f"Name: {ticket.name or '(erased)'}",
            f"Contact ({ticket.contact_kind}): {ticket.contact or '(erased)'}",
            f"Language: {ticket.language}",
            f"Channel: {ticket.channel}",
            f"Received: {_local(ticket.created_at)}",
            "",
            "Question:",
            ticket.question or "(erased)",
            "",
            "Conversation:",
        ]
    )
    lines = [f"[{_clock(e['time'])}] {e['sender']}: {e['text']}" for e in ticket.transcript_entries]
    text = head + "\n" + ("\n".join(lines) if lines else "(none)")
    if max_chars is None or len(text) <= max_chars:
        return text
    room = max_chars - len(SHORTENED) - 1
    return text[:room] + "\n" + SHORTENED if room > len(head) else text[:max_chars]


def payload_bytes(ticket: Ticket) -> bytes:
    """The webhook body. These exact bytes are signed, so they are built once and sent as they are."""
    return json.dumps(ticket.as_dict(), ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
