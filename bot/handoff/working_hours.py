"""When the user may expect the project manager's reply: the next working time after now, from the
configured working hours (RIS3_HANDOFF_WORKING_HOURS, e.g. "Mon-Fri 08:00-16:00", in
RIS3_HANDOFF_TIMEZONE) without public holidays (RIS3_HANDOFF_HOLIDAYS_COUNTRY, Finland's by default, from
the maintained `holidays` package), said as "today", "tomorrow", "on Monday" or a date, in both languages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    # Essive: "maanantaina" is "on Monday".
    "fi": ("maanantaina", "tiistaina", "keskiviikkona", "torstaina", "perjantaina", "lauantaina", "sunnuntaina"),
}
_HOURS = re.compile(
    r"\s*(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*"
)
# A year is enough to find the next working day after any run of holidays.
SEARCH_DAYS = 366


@dataclass(frozen=True)
class WorkingHours:
    weekdays: frozenset[int]
    start: time
    end: time
    timezone: ZoneInfo
    country: str

    @classmethod
    def parse(cls, spec: str, timezone: str = "Europe/Helsinki", country: str = "FI") -> WorkingHours:
        """"Mon-Fri 08:00-16:00" (or "Mon 09:00-12:00"); ValueError saying what is expected otherwise."""
        match = _HOURS.fullmatch(spec.lower())
        problem = f'working hours {spec!r}: expected e.g. "Mon-Fri 08:00-16:00"'
        if match is None or match["first"] not in DAYS or (match["last"] or match["first"]) not in DAYS:
            raise ValueError(problem)
        first, last = DAYS.index(match["first"]), DAYS.index(match["last"] or match["first"])
        try:
            start, end = time.fromisoformat(match["start"].zfill(5)), time.fromisoformat(match["end"].zfill(5))
        except ValueError:
            raise ValueError(problem) from None
        if end <= start or last < first:
            raise ValueError(problem)
        return cls(frozenset(range(first, last + 1)), start, end, ZoneInfo(timezone), country)

    def _holidays(self, year: int) -> holidays.HolidayBase:
        return _country_holidays(self.country, year)

    def working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self._holidays(day.year)

    def next_working_time(self, now: datetime) -> datetime:
        """now, when it is within working hours; else the start of the next working time (local time)."""
        local = now.astimezone(self.timezone)
        day = local.date()
        if self.working_day(day) and local.time() < self.end:
            return local if local.time() >= self.start else datetime.combine(day, self.start, self.timezone)
        for offset in range(1, SEARCH_DAYS):
            candidate = day + timedelta(days=offset)
            if self.working_day(candidate):
                return datetime.combine(candidate, self.start, self.timezone)
        raise ValueError("no working day within a year: check the working hours")

    def expected(self, now: datetime, language: str) -> str:
        """When to expect the reply: "today", "tomorrow", "on Monday", "on 7.4." (and in Finnish)."""
        language = language if language in WEEKDAY_NAMES else "en"
        today = now.astimezone(self.timezone).date()
        day = self.next_working_time(now).date()
        fi = language == "fi"
        if day == today:
            return "tänään" if fi else "today"
        if day == today + timedelta(days=1):
            return "huomenna" if fi else "tomorrow"
        if day < today + timedelta(days=7):
            name = WEEKDAY_NAMES[language][day.weekday()]
            return name if fi else f"on {name}"
        return f"{day.day}.{day.month}." if fi else f"on {day.day}.{day.month}."


@lru_cache(maxsize=16)
def _country_holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)
