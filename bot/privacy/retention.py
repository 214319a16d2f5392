"""The retention purge, as the CLI (`bot handoff purge`, `python -m bot.handoff purge`) and the back office's
daily task run it: one call into bot.privacy.records, which an erasure and an export use too."""

from __future__ import annotations

from datetime import datetime

from bot.handoff.config import HandoffSettings
from bot.privacy.records import Erased, PersonalData


def purge(settings: HandoffSettings, days: int | None = None, now: datetime | None = None) -> Erased:
    """Erases what is older than the retention (RIS3_HANDOFF_RETENTION_DAYS unless days is given);
    raises PrivacyStoreUnavailable when a database cannot be reached."""
    data = PersonalData(settings.database_url, settings.tracker_database_url)
    try:
        return data.purge(settings.retention_days if days is None else days, now)
    finally:
        data.close()


def summary(erased: Erased, days: int) -> str:
    return (
        f"retention {days} days: {erased.conversations} conversations, personal data of {erased.tickets} tickets, "
        f"{erased.review_texts} question texts in Review erased"
    )
