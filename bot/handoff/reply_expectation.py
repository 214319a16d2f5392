"""What the user reads after confirming a handoff about the reply: when to expect it (the next working time,
bot/handoff/working_hours.py), whether a copy comes by e-mail, and whether the project manager was notified at
all: on an install with no notification route (no mail server, no Telegram, no webhook) the request waits in the
back office's inbox, and the user is told so rather than that someone was notified. The sentence itself is
domain.yml's utter_handoff_reply_expected; these are its {notice}, {when} and {email_note}.
"""

from __future__ import annotations

from datetime import datetime

from bot.handoff.config import HandoffSettings
from bot.handoff.working_hours import WorkingHours

EMAIL_NOTE = {"en": " and by e-mail to {address}", "fi": " ja sähköpostiisi {address}"}
# An address was given, but this install sends no mail: the user must not wait for one.
NO_EMAIL_NOTE = {
    "en": " (not by e-mail: this service sends none)",
    "fi": " (ei sähköpostiin: tämä palvelu ei lähetä sähköpostia)",
}
NOTIFIED = {"en": "The project manager has been notified.", "fi": "Projektipäällikölle on ilmoitettu."}
WAITING = {
    "en": "Your request waits in the project manager's inbox until he opens it.",
    "fi": "Pyyntösi odottaa projektipäällikön saapuneissa, kunnes hän avaa sen.",
}


def reply_expectation(
    settings: HandoffSettings, now: datetime, language: str, contact: str, email_available: bool
) -> dict[str, str]:
    hours = WorkingHours.parse(settings.working_hours, settings.timezone, settings.holidays_country)
    language = language if language in EMAIL_NOTE else "en"
    note = ""
    if "@" in contact:
        note = EMAIL_NOTE[language].format(address=contact) if email_available else NO_EMAIL_NOTE[language]
    notice = NOTIFIED[language] if settings.enabled_channels() else WAITING[language]
    return {"notice": notice, "when": hours.expected(now, language), "email_note": note}
