"""What the handoff form hands to the store: the user's answers and the conversation so far."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, TypedDict

from bot.handoff.validation import ContactKind, validate_contact, validate_name, validate_question
from bot.user_text import looks_like_payload, without_mark

MAX_LANGUAGE, MAX_CHANNEL, MAX_CONVERSATION = 16, 32, 200


class TranscriptEntry(TypedDict):
    sender: Literal["user", "bot"]
    text: str
    time: str  # ISO 8601, UTC


class ConsentMissing(ValueError):
    """The user did not agree to the storage of their details: nothing may be stored."""


def _iso_time(value: object) -> str:
    # Rasa events carry float timestamps; other callers may pass datetimes or ISO strings.
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc).isoformat()
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).isoformat()
    text = str(value or "")
    try:
        # Python 3.10's fromisoformat does not read a trailing "Z".
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return text  # kept as given: a transcript line is worth more than its exact time
    return _iso_time(parsed)


def normalise_transcript(entries: Iterable[Mapping[str, Any]]) -> list[TranscriptEntry]:
    """The transcript as stored: sender "user" or "bot", the text, an ISO time; empty texts dropped."""
    result: list[TranscriptEntry] = []
    for entry in entries:
        sender = entry.get("sender")
        if sender not in ("user", "bot"):
            raise ValueError(f"transcript sender must be 'user' or 'bot', not {sender!r}")
        text = entry.get("text")
        if not isinstance(text, str) or not text:
            continue
        result.append({"sender": sender, "text": text, "time": _iso_time(entry.get("time"))})
    return result


def transcript_from_events(events: Iterable[Mapping[str, Any]]) -> list[TranscriptEntry]:
    """The user's and the bot's messages from Rasa tracker events (tracker.events), as the user saw them: a
    pressed button by its title ("Yes", "Kyllä"), not its payload ("/affirm")."""
    entries: list[dict[str, Any]] = []
    titles: dict[str, str] = {}  # payload -> title of the buttons shown so far, the latest winning
    for event in events:
        kind, text = event.get("event"), event.get("text")
        if kind == "bot":
            for button in (event.get("data") or {}).get("buttons") or []:
                if isinstance(button, Mapping) and button.get("payload") and button.get("title"):
                    titles[str(button["payload"])] = str(button["title"])
        elif kind == "user" and isinstance(text, str):
            text = titles.get(text.strip(), text) if looks_like_payload(text) else without_mark(text)
        else:
            continue
        entries.append({"sender": kind, "text": text, "time": event.get("timestamp")})
    return normalise_transcript(entries)


@dataclass(frozen=True)
class TicketDraft:
    name: str
    contact: str
    question: str
    language: str
    channel: str
    consent: bool
    transcript: Sequence[Mapping[str, Any]] = field(default_factory=list)
    # The Rasa conversation (tracker.sender_id) the manager's replies go back to.
    conversation_id: str | None = None


@dataclass(frozen=True)
class CheckedDraft:
    name: str
    contact: str
    contact_kind: ContactKind
    question: str
    language: str
    channel: str
    transcript_json: str
    conversation_id: str | None = None


def check_draft(draft: TicketDraft) -> CheckedDraft:
    """The draft validated and normalised; raises ConsentMissing, InvalidInput or ValueError."""
    if draft.consent is not True:
        raise ConsentMissing("the user has not consented to storing their contact details")
    kind, contact = validate_contact(draft.contact)
    language, channel = draft.language.strip(), draft.channel.strip()
    if not language or len(language) > MAX_LANGUAGE or not channel or len(channel) > MAX_CHANNEL:
        raise ValueError("language and channel must be short non-empty codes")
    transcript = normalise_transcript(draft.transcript)
    return CheckedDraft(
        name=validate_name(draft.name),
        contact=contact,
        contact_kind=kind,
        question=validate_question(draft.question),
        language=language,
        channel=channel,
        # ensure_ascii=False keeps Finnish text readable in the database.
        transcript_json=json.dumps(transcript, ensure_ascii=False),
        conversation_id=_conversation(draft.conversation_id),
    )


def _conversation(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_CONVERSATION or not value.isprintable():
        raise ValueError("the conversation id must be a short printable string")
    return value
