"""Conversation ids: each channel in its own namespace, website chat sessions issued and signed by the server."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.channels.conversation_ids import (
    REST,
    TELEGRAM,
    WEB,
    SessionSigner,
    conversation_id,
    load_secret,
    local_id,
    valid_sender,
)
from bot.channels.telegram_updates import chat_of_conversation


def test_channels_never_share_a_conversation() -> None:
    ids = {conversation_id(channel, "123456789") for channel in (REST, WEB, TELEGRAM)}
    assert len(ids) == 3
    assert local_id(conversation_id(TELEGRAM, "42"), TELEGRAM) == "42"
    assert local_id(conversation_id(REST, "42"), TELEGRAM) is None
    # A REST sender that looks like another channel's id is still a REST conversation.
    assert conversation_id(REST, "telegram:42") == "rest:telegram:42"
    assert chat_of_conversation("telegram:-100123") == -100123 and chat_of_conversation("telegram:42") == 42


@pytest.mark.parametrize("sender", ["me", "user-1", "x" * 128, "Aino Virtanen", "telegram:42"])
def test_rest_senders_accepted(sender: str) -> None:
    assert valid_sender(sender)


@pytest.mark.parametrize("sender", [None, "", " ", " me", "me ", "x" * 129, 42, ["me"], {"id": 1}, "a\nb", "\x00"])
def test_rest_senders_refused(sender: object) -> None:
    assert not valid_sender(sender)


def test_session_ids_are_issued_signed_and_checked() -> None:
    signer = SessionSigner(b"s" * 32)
    first, second = signer.issue(), signer.issue()
    assert first != second and len(first) <= 64
    conversation = signer.conversation(first)
    assert conversation is not None and conversation.startswith("web:")
    assert signer.conversation(first) == conversation  # stable: the same session goes on
    assert conversation != signer.conversation(second)


@pytest.mark.parametrize(
    "forged",
    [None, 42, "", "0123456789abcdef0123456789abcdef", "widget_session-1", "<script>", "x" * 500],
)
def test_session_ids_not_issued_are_refused(forged: object) -> None:
    assert SessionSigner(b"s" * 32).conversation(forged) is None


def test_a_session_id_altered_or_signed_with_another_secret_is_refused() -> None:
    signer, other = SessionSigner(b"s" * 32), SessionSigner(b"t" * 32)
    issued = signer.issue()
    random_part, signature = issued.split("-", 1)
    changed = ("0" if random_part[0] != "0" else "1") + random_part[1:]
    assert signer.conversation(f"{changed}-{signature}") is None
    assert other.conversation(issued) is None


def test_the_secret_comes_from_the_environment_or_a_private_file(tmp_path: Path) -> None:
    assert load_secret({"RIS3_CHAT_SECRET": "e" * 20}, tmp_path / "unused") == b"e" * 20
    with pytest.raises(ValueError, match="RIS3_CHAT_SECRET"):
        load_secret({"RIS3_CHAT_SECRET": "short"}, tmp_path / "unused")
    path = tmp_path / "var" / "chat.secret"
    secret = load_secret({}, path)
    assert len(secret) >= 32 and load_secret({}, path) == secret  # kept: sessions survive a restart
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
