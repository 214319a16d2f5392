"""The sentence after a confirmed handoff: when to expect the project manager's reply, from the working
hours and Finland's public holidays (the `holidays` package), in both languages, with a fixed clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.handoff.config import HandoffSettings
from bot.handoff.reply_expectation import reply_expectation
from bot.handoff.working_hours import WorkingHours
from bot.settings import PROJECT_ROOT

HELSINKI = ZoneInfo("Europe/Helsinki")
SETTINGS = HandoffSettings(_env_file=None)  # type: ignore[call-arg]


def _sentence(language: str, values: dict[str, str]) -> str:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    variations = domain["responses"]["utter_handoff_reply_expected"]
    chosen = next(
        (v for v in variations if any(c.get("value") == language for c in v.get("condition", []))),
        next(v for v in variations if "condition" not in v),
    )
    return str(chosen["text"]).format(**values)


@pytest.mark.parametrize(
    ("moment", "en", "fi"),
    [
        ("2026-03-04 10:30", "today", "tänään"),  # a Wednesday morning, within working hours
        ("2026-03-04 06:45", "today", "tänään"),  # before the day starts
        ("2026-03-04 18:00", "tomorrow", "huomenna"),  # a weekday evening
        ("2026-03-06 17:30", "on Monday", "maanantaina"),  # a Friday evening
        ("2026-03-07 12:00", "on Monday", "maanantaina"),  # a Saturday
        ("2026-04-02 17:00", "on Tuesday", "tiistaina"),  # before Easter: Good Friday and Easter Monday off
        ("2026-12-05 10:00", "on Monday", "maanantaina"),  # Saturday; Sunday 6.12. is Independence Day
        ("2027-12-03 17:00", "on Tuesday", "tiistaina"),  # Friday; Monday 6.12.2027 is Independence Day
        ("2026-12-23 17:00", "on Monday", "maanantaina"),  # Christmas Eve to Boxing Day, then the weekend
    ],
)
def test_when_to_expect_the_reply(moment: str, en: str, fi: str) -> None:
    now = datetime.fromisoformat(moment).replace(tzinfo=HELSINKI)
    assert reply_expectation(SETTINGS, now, "en", "+358 40 123 4567", True)["when"] == en
    assert reply_expectation(SETTINGS, now, "fi", "+358 40 123 4567", True)["when"] == fi


def test_the_whole_sentence_in_both_languages() -> None:
    friday_evening = datetime(2026, 3, 6, 17, 30, tzinfo=HELSINKI)
    mail = HandoffSettings(_env_file=None, smtp_host="127.0.0.1", smtp_from="bot@example.fi",  # type: ignore[call-arg]
                           manager_email="pm@example.fi")
    english = reply_expectation(mail, friday_evening, "en", "maija@yritys.fi", True)
    assert _sentence("en", english) == (
        "The project manager has been notified. His reply will appear in this chat and by e-mail to "
        "maija@yritys.fi; expect it on Monday. You can go on asking, or add something to your request."
    )
    finnish = reply_expectation(mail, friday_evening, "fi", "+358 40 123 4567", True)
    assert _sentence("fi", finnish) == (
        "Projektipäällikölle on ilmoitettu. Hänen vastauksensa tulee tähän keskusteluun; odota sitä maanantaina. "
        "Voit jatkaa kysymistä tai lisätä pyyntöösi jotain."
    )
    # Without a mail server there is no e-mail copy, so none is promised: the user is told none comes.
    assert reply_expectation(SETTINGS, friday_evening, "en", "maija@yritys.fi", False)["email_note"] == (
        " (not by e-mail: this service sends none)"
    )
    assert reply_expectation(SETTINGS, friday_evening, "en", "+358 40 123 4567", False)["email_note"] == ""


def test_without_a_notification_route_the_request_is_said_to_wait_in_the_inbox() -> None:
    """Issue 25 item 1: on an install with no mail server, Telegram or webhook nobody is notified."""
    friday_evening = datetime(2026, 3, 6, 17, 30, tzinfo=HELSINKI)
    assert SETTINGS.enabled_channels() == []
    english = _sentence("en", reply_expectation(SETTINGS, friday_evening, "en", "maija@yritys.fi", False))
    assert english.startswith("Your request waits in the project manager's inbox until he opens it. His reply will "
                              "appear in this chat (not by e-mail: this service sends none); expect it on Monday.")
    assert "notified" not in english
    finnish = _sentence("fi", reply_expectation(SETTINGS, friday_evening, "fi", "+358 40 123 4567", False))
    assert finnish.startswith("Pyyntösi odottaa projektipäällikön saapuneissa") and "ilmoitettu" not in finnish


def test_far_holidays_give_a_date_and_bad_hours_say_what_is_expected() -> None:
    hours = WorkingHours.parse("Mon 09:00-12:00")
    assert hours.expected(datetime(2026, 12, 21, 13, 0, tzinfo=HELSINKI), "en") == "on 28.12."
    assert hours.expected(datetime(2026, 12, 21, 13, 0, tzinfo=HELSINKI), "fi") == "28.12."
    for bad in ("weekdays 8-16", "Mon-Fri 16:00-08:00", "Fri-Mon 08:00-16:00", "Mon-Fri 25:00-26:00"):
        with pytest.raises(ValueError, match="Mon-Fri 08:00-16:00"):
            WorkingHours.parse(bad)
