"""The time a question asks about ("in autumn 2020", "during 2021", "syksyllä 2020", "what happens next?"),
as a range of days to compare with the facts' `when`. English and Finnish; inflected Finnish forms
(syksyllä, helmikuussa, vuonna 2021) are matched by their stems."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

# Months by the stems of their English and Finnish names.
_MONTHS = {
    1: ("january", "jan", "tammikuu"), 2: ("february", "feb", "helmikuu"), 3: ("march", "mar", "maaliskuu"),
    4: ("april", "apr", "huhtikuu"), 5: ("may", "toukokuu"), 6: ("june", "jun", "kesäkuu"),
    7: ("july", "jul", "heinäkuu"), 8: ("august", "aug", "elokuu"), 9: ("september", "sept", "sep", "syyskuu"),
    10: ("october", "oct", "lokakuu"), 11: ("november", "nov", "marraskuu"), 12: ("december", "dec", "joulukuu"),
}
# Seasons as months, the way they are reckoned in Finland (autumn: September to November); winter runs
# from December of the year before.
_SEASONS = {
    "spring": (3, 5), "kevä": (3, 5), "kevät": (3, 5),
    "summer": (6, 8), "kesä": (6, 8), "kesällä": (6, 8),
    "autumn": (9, 11), "fall": (9, 11), "syks": (9, 11), "syksy": (9, 11),
    "winter": (12, 2), "talv": (12, 2),
}
# Words that ask about what comes after the page's own date ("what happens next?", "mitä seuraavaksi?").
_NEXT = re.compile(r"\b(next|upcoming|coming|future|seuraavaksi|jatkossa|tulevaisuudessa|tulevaa|tulossa)\b")
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-9]\d)\b")
# English words that are a month or season only beside a year or after "in" ("may I call", "fall under").
_AMBIGUOUS = frozenset({"may", "fall", "march", "mar", "jan", "sep"})
_HALF = re.compile(r"\b(early|beginning of|start of|alku\w*|late|end of|loppu\w*)\b")


@dataclass(frozen=True)
class Timeframe:
    first: dt.date
    last: dt.date
    # How the question named it, for logs and tests.
    said: str

    def overlaps(self, period: tuple[dt.date, dt.date]) -> bool:
        return period[0] <= self.last and self.first <= period[1]


def _month_of(word: str) -> int | None:
    for month, names in _MONTHS.items():
        for name in names:
            # A three-letter abbreviation must be the whole word ("mar" is not "march" inside "market").
            if word == name or (len(name) > 3 and word.startswith(name)):
                return month
    return None


def _season_of(word: str) -> tuple[int, int] | None:
    for stem, months in _SEASONS.items():
        if word == stem or (len(stem) >= 4 and word.startswith(stem)):
            return months
    return None


def _dated(tokens: list[str], i: int) -> bool:
    """False for an ambiguous English word ("may", "fall") that nothing around marks as a time."""
    if tokens[i] not in _AMBIGUOUS:
        return True
    before = tokens[i - 1] if i else ""
    after = tokens[i + 1] if i + 1 < len(tokens) else ""
    return before in ("in", "during", "by", "of", "since", "until", "the") or bool(_YEAR.fullmatch(after))


def _month_range(year: int, first_month: int, last_month: int) -> tuple[dt.date, dt.date]:
    start_year = year - 1 if first_month > last_month else year
    last_day = calendar.monthrange(year, last_month)[1]
    return dt.date(start_year, first_month, 1), dt.date(year, last_month, last_day)


def timeframe(question: str, now: dt.date) -> Timeframe | None:
    """The time the question names, or None. `now` is the date the knowledge speaks from (the page's
    update): "next" and a season or month without a year are taken from there."""
    text = question.casefold()
    tokens = re.findall(r"[^\W_]+", text)
    words = [w for i, w in enumerate(tokens) if not w.isdigit() and _dated(tokens, i)]
    years = [int(y) for y in _YEAR.findall(text)]
    months = [m for w in words if (m := _month_of(w))]
    seasons = [s for w in words if (s := _season_of(w))]
    if not years and (months or seasons):
        years = [now.year]
    if years:
        year = years[0]
        if months:
            first, last = _month_range(year, months[0], months[-1])
            return Timeframe(first, last, f"{year}-{months[0]:02d}")
        if seasons:
            first, last = _month_range(year, *seasons[0])
            return Timeframe(first, last, f"{year} season {seasons[0]}")
        last_year = years[-1] if len(years) > 1 and years[-1] >= year else year
        first, last = dt.date(year, 1, 1), dt.date(last_year, 12, 31)
        half = _HALF.search(text)
        if half and len(years) == 1:
            early = half.group(1).startswith(("early", "beginning", "start", "alku"))
            first, last = (first, dt.date(year, 6, 30)) if early else (dt.date(year, 7, 1), last)
        return Timeframe(first, last, str(year) if last_year == year else f"{year}-{last_year}")
    if _NEXT.search(text):
        return Timeframe(now + dt.timedelta(days=1), dt.date(now.year + 10, 12, 31), "after the page's date")
    return None
