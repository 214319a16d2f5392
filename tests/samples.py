"""Test data shared by several test folders."""

from __future__ import annotations

from typing import Any


def handoff_draft_values(**overrides: Any) -> dict[str, Any]:
    """The fields of a valid handoff TicketDraft, with `overrides` applied."""
    values: dict[str, Any] = {
        "name": "Maija Meikäläinen",
        "contact": "maija.meikalainen@yritys.fi",
        "question": "Voiko yrityksemme osallistua RIS3-hankkeeseen?",
        "language": "fi",
        "channel": "rest",
        "consent": True,
        "transcript": [
            {"sender": "user", "text": "Haluan puhua ihmisen kanssa", "time": 1767261600.0},
            {"sender": "bot", "text": "Kerro nimesi, niin välitän viestin.", "time": 1767261601.5},
        ],
    }
    values.update(overrides)
    return values
