"""What the user reads after confirming a handoff about the reply: when to expect it (the next working time,
bot/handoff/working_hours.py) and whether a copy comes by e-mail. The sentence itself is domain.yml's
utter_handoff_reply_expected; these are its {when} and {email_note}.
"""

from __future__ import annotations

from datetime import datetime

from bot.handoff.config import HandoffSettings
from bot.handoff.working_hours import WorkingHours

EMAIL_NOTE = {"en": " and by e-mail to {address}", "fi": " ja sähköpostiisi {address}"}


def reply_expectation(
    settings: HandoffSettings, now: datetime, language: str, contact: str, email_available: bool
) -> dict[str, str]:
    hours = WorkingHours.parse(settings.working_hours, settings.timezone, settings.holidays_country)
    language = language if language in EMAIL_NOTE else "en"
    note = EMAIL_NOTE[language].format(address=contact) if email_available and "@" in contact else ""
    return {"when": hours.expected(now, language), "email_note": note}
