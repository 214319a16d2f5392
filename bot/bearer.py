"""`Authorization: Bearer <token>` checked against a shared token, in constant time: the REST channel's
client token, the action server's token from Rasa, the link between the Rasa server and the back office.
Standard library only (both runtimes import it)."""

from __future__ import annotations

import hmac


def bearer_matches(expected: str, header: str | None) -> bool:
    """Whether an Authorization header carries the token; never with an empty token."""
    scheme, _, given = (header or "").partition(" ")
    return (
        bool(expected)
        and scheme.lower() == "bearer"
        and bool(given.strip())
        and hmac.compare_digest(given.strip().encode(), expected.encode())
    )
