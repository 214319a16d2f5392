"""The website chat channel's rules: origins, session ids, user messages, replies kept between pages."""

from __future__ import annotations

import pytest

from bot.channels import web_chat_rules as rules


def test_origins_from_credentials_win_over_the_environment() -> None:
    env = {rules.ORIGINS_ENV: "https://env.example"}
    assert rules.resolve_origins({"allowed_origins": "https://a.fi, https://*.b.fi/"}, env) == [
        "https://a.fi",
        "https://*.b.fi",
    ]
    assert rules.resolve_origins({"allowed_origins": ["https://a.fi"]}, env) == ["https://a.fi"]
    assert rules.resolve_origins({"allowed_origins": ""}, env) == ["https://env.example"]
    assert rules.resolve_origins(None, {}) == ["*"]


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://www.kymenlaakso.fi", True),
        ("https://WWW.Kymenlaakso.fi/", True),
        ("https://intra.kymenlaakso.fi", True),
        ("http://www.kymenlaakso.fi", False),
        ("https://kymenlaakso.fi.evil.example", False),
        ("https://evilkymenlaakso.fi", False),
        ("http://localhost:8080", True),
        ("http://localhost.evil.example:8080", False),
        ("null", False),
        (None, True),
        ("", True),
    ],
)
def test_origin_patterns(origin: str | None, allowed: bool) -> None:
    patterns = ["https://www.kymenlaakso.fi", "https://*.kymenlaakso.fi", "http://localhost:*"]
    assert rules.origin_allowed(origin, patterns) is allowed


def test_any_origin_when_star() -> None:
    assert rules.origin_allowed("https://anything.example", ["*"])


def test_a_message_is_read_with_only_the_language_of_its_metadata() -> None:
    metadata = {"language": "fi", "page": "/", "blob": "x" * 900_000}
    message = rules.read_message({"message": "hei", "session_id": "abcdefgh", "metadata": metadata})
    assert message == rules.ChatMessage("hei", "abcdefgh", {"language": "fi"})
    assert rules.read_message({"message": "", "metadata": {"page": "/"}}).metadata == {}
    # The length is the channel's to check (it answers the user), not cut here.
    assert len(rules.read_message({"message": "x" * 100_000}).text) == 100_000


@pytest.mark.parametrize(
    "data",
    [
        None,
        "text",
        ["message"],
        {},
        {"message": None},
        {"message": 1},
        {"message": ["x"]},
        {"message": "x", "session_id": "a b"},
        {"message": "x", "metadata": "not an object"},
        {"message": "x", "metadata": {"language": ["en"]}},
        {"message": "x", "metadata": {"language": "sv"}},
    ],
)
def test_malformed_messages_are_refused_with_a_reason(data: object) -> None:
    with pytest.raises(rules.BadMessage) as error:
        rules.read_message(data)
    assert str(error.value)


def test_pending_replies_wait_for_their_session_and_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(rules.time, "monotonic", lambda: now[0])
    pending = rules.PendingReplies(keep_seconds=60, per_session=2)
    for n in range(3):
        pending.add("s1", {"text": str(n)})
    pending.add("s2", {"text": "other"})
    assert pending.take("s1") == [{"text": "1"}, {"text": "2"}]  # only the newest per_session
    assert pending.take("s1") == []
    now[0] += 61
    assert pending.take("s2") == []
