"""Which conversations are test traffic, left out of the staff's figures by default (docs/insights.md).

The rule: a REST conversation whose sender id starts with one of TEST_SENDER_PREFIXES. The FAQ suite
(`bin/bot faq test`, senders "faq-<case>-<random>"), the benchmarks (bench/: "bench-…", "profile-…") and
any script that sends `"sender": "test-…"` are test traffic; the website chat and Telegram never are (their
conversation ids are made by the channels, not chosen by the client). A REST client that is a real user keeps
to other sender ids. Python 3.10 compatible."""

from __future__ import annotations

TEST_SENDER_PREFIXES = ("test-", "faq-", "bench-", "profile-")
_REST = "rest:"


def is_test_traffic(conversation_id: str) -> bool:
    if not conversation_id.startswith(_REST):
        return False
    return conversation_id[len(_REST):].lower().startswith(TEST_SENDER_PREFIXES)
