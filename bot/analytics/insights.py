"""The figures of the back office's Insights page, from the user turns of a period (bot/analytics/turns.py).

Aggregates only: counts and shares per channel and language, per day, per hour and weekday, and per fact.
No user text and no conversation id ever leaves this module, so the JSON and CSV made from its result hold
no personal data. What each figure means: docs/insights.md.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta, tzinfo
from typing import Any

from bot.analytics.test_traffic import TEST_SENDER_PREFIXES, is_test_traffic
from bot.analytics.turns import CHANNELS, TurnRecord

LANGUAGES = ("en", "fi")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
TOP_FACTS = 10
# The CSV tables, by the name a download asks for (`?table=`).
TABLES = ("summary", "daily", "hours", "facts", "helpfulness")
# Columns of a figures row, in the order of the page's tables and the CSV.
FIGURES = (
    "conversations",
    "user_messages",
    "questions",
    "answered",
    "answered_share",
    "hedged",
    "dont_know",
    "dont_know_share",
    "clarifications",
    "handoffs_started",
    "handoffs_submitted",
    "handoff_rate",
    "buttons",
    "helpful",
    "not_helpful",
    "helpful_share",
)
# The columns of the helpfulness table (one row per fact, language and channel with feedback or answers).
HELPFULNESS = ("fact", "topic", "title", "language", "channel", "answers", "helpful", "not_helpful", "helpful_share")
DAILY = ("conversations", "user_messages", "questions", "answered", "dont_know", "handoffs_started", "buttons")
# Up to this many days the trend chart has a bar a day; a longer period is drawn a week a bar, so that one busy
# day among quiet ones is a bar one can see (the table of the days with messages names the day).
DAILY_CHART_MAX_DAYS = 14


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def figures(turns: Sequence[TurnRecord]) -> dict[str, Any]:
    """The headline figures of a set of turns (docs/insights.md says what each one counts)."""
    conversations = {turn.conversation_id for turn in turns}
    handed_off = {turn.conversation_id for turn in turns if turn.handoff_started}
    # Anything typed into a handoff form (a name, a phone number) is not a question to the bot.
    questions = sum(1 for turn in turns if turn.decision is not None and not turn.form_answer)
    answered = sum(1 for turn in turns if turn.answered)
    hedged = sum(1 for turn in turns if turn.hedged)
    dont_know = sum(1 for turn in turns if turn.dont_know)
    # The verdicts given with the feedback buttons, counted on the answers they judge.
    helpful = sum(1 for turn in turns if turn.helpful is True)
    not_helpful = sum(1 for turn in turns if turn.helpful is False)
    return {
        "conversations": len(conversations),
        "user_messages": len(turns),
        "questions": questions,
        "answered": answered,
        "answered_share": _share(answered, questions),
        "hedged": hedged,
        "dont_know": dont_know,
        "dont_know_share": _share(dont_know, questions),
        "clarifications": questions - answered - hedged - dont_know,
        "handoffs_started": sum(1 for turn in turns if turn.handoff_started),
        "handoffs_submitted": sum(1 for turn in turns if turn.handoff_submitted),
        "handoff_rate": _share(len(handed_off), len(conversations)),
        "buttons": sum(1 for turn in turns if turn.button),
        "helpful": helpful,
        "not_helpful": not_helpful,
        "helpful_share": _share(helpful, helpful + not_helpful),
    }


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _daily(turns: Sequence[TurnRecord], first: date, last: date, zone: tzinfo) -> list[dict[str, Any]]:
    by_day: dict[date, list[TurnRecord]] = defaultdict(list)
    for turn in turns:
        by_day[turn.time.astimezone(zone).date()].append(turn)
    rows = []
    for day in _days(first, last):  # every day of the period, a quiet one as zeros: the trend has no gaps
        turns_of_day = by_day.get(day, [])
        counts = figures(turns_of_day)
        per_channel = Counter(turn.channel for turn in turns_of_day)
        rows.append({
            "date": day.isoformat(),
            **{name: counts[name] for name in DAILY},
            "by_channel": {channel: per_channel.get(channel, 0) for channel in CHANNELS},
        })
    return rows


def _weekly(daily: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The daily rows summed by calendar week (Monday first), each week clipped to the period."""
    weeks: dict[date, dict[str, Any]] = {}
    for row in daily:
        day = date.fromisoformat(row["date"])
        monday = day - timedelta(days=day.weekday())
        week = weeks.setdefault(monday, {
            "from": row["date"], "to": row["date"], "days": 0,
            **{name: 0 for name in DAILY}, "by_channel": {channel: 0 for channel in CHANNELS},
        })
        week["to"] = row["date"]
        week["days"] += 1
        for name in DAILY:
            week[name] += row[name]
        for channel, count in row["by_channel"].items():
            week["by_channel"][channel] = week["by_channel"].get(channel, 0) + count
    return [weeks[monday] for monday in sorted(weeks)]


def _trend(daily: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the trend chart draws: the days themselves in a short period, else the weeks."""
    if len(daily) <= DAILY_CHART_MAX_DAYS:
        rows = [{"from": row["date"], "to": row["date"], "days": 1, **row} for row in daily]
        return {"unit": "day", "rows": rows}
    return {"unit": "week", "rows": _weekly(daily)}


def _busiest(counts: Sequence[int], labels: Sequence[Any]) -> Any:
    return labels[max(range(len(counts)), key=lambda i: (counts[i], -i))] if any(counts) else None


def _hours(turns: Sequence[TurnRecord], zone: tzinfo) -> dict[str, Any]:
    grid = [[0] * 24 for _ in WEEKDAYS]
    for turn in turns:
        local = turn.time.astimezone(zone)
        grid[local.weekday()][local.hour] += 1
    by_hour = [sum(row[hour] for row in grid) for hour in range(24)]
    by_weekday = [sum(row) for row in grid]
    return {
        "weekdays": list(WEEKDAYS),
        "by_hour": by_hour,
        "by_weekday": by_weekday,
        "grid": grid,  # grid[weekday][hour]: user messages, Monday first
        "busiest_hour": _busiest(by_hour, range(24)),
        "busiest_weekday": _busiest(by_weekday, WEEKDAYS),
    }


def _top_facts(turns: Sequence[TurnRecord], titles: Mapping[str, Mapping[str, str]]) -> list[dict[str, Any]]:
    answers: Counter[str] = Counter()
    buttons: Counter[str] = Counter()
    for turn in turns:
        fact = turn.fact if turn.answered else None
        if fact:
            answers[fact] += 1
            buttons[fact] += turn.button
    ranked = sorted(answers.items(), key=lambda item: (-item[1], item[0]))[:TOP_FACTS]
    return [
        {
            "fact": fact,
            "topic": titles.get(fact, {}).get("topic", ""),
            "title": titles.get(fact, {}).get("title", ""),
            "answers": count,
            "via_button": buttons[fact],
        }
        for fact, count in ranked
    ]


def _helpfulness(turns: Sequence[TurnRecord], titles: Mapping[str, Mapping[str, str]]) -> list[dict[str, Any]]:
    """Per fact, language and channel: the answers given with that fact (plainly or said to be uncertain) and
    what their feedback buttons got. Rows with feedback first, most "not helpful" first: what needs a look."""
    counts: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for turn in turns:
        fact = turn.fact if (turn.answered or turn.hedged) else None
        if not fact:
            continue
        row = counts[(fact, turn.language, turn.channel)]
        row["answers"] += 1
        if turn.helpful is not None:
            row["helpful" if turn.helpful else "not_helpful"] += 1
    rows = []
    for (fact, language, channel), row in counts.items():
        judged = row["helpful"] + row["not_helpful"]
        rows.append(
            {
                "fact": fact,
                "topic": titles.get(fact, {}).get("topic", ""),
                "title": titles.get(fact, {}).get("title", ""),
                "language": language,
                "channel": channel,
                "answers": row["answers"],
                "helpful": row["helpful"],
                "not_helpful": row["not_helpful"],
                "helpful_share": _share(row["helpful"], judged),
            }
        )
    rows.sort(key=lambda r: (-(r["helpful"] + r["not_helpful"] > 0), -r["not_helpful"], -r["answers"], r["fact"],
                             r["language"], r["channel"]))
    return rows


def _in(values: Iterable[str], known: Sequence[str]) -> list[str]:
    """The known values in their order, then any others in sorted order (e.g. an "other" channel)."""
    present = set(values)
    return [v for v in known if v in present] + sorted(present - set(known))


# REST conversations of the Review page's "try it" box (bot/analytics/review.py TRY_SENDER_PREFIX).
STAFF_TRY_PREFIX = "rest:backoffice-review-try-"


def insights(
    turns: Sequence[TurnRecord],
    first: date,
    last: date,
    zone: tzinfo,
    *,
    titles: Mapping[str, Mapping[str, str]] | None = None,
    channel: str | None = None,
    language: str | None = None,
    include_tests: bool = False,
) -> dict[str, Any]:
    """The page's figures as a plain dict (the JSON of GET /api/insights). `turns` are the period's, as
    load_turns gives them with the same `zone`; `titles` maps a fact id to its {"title", "topic"}. With
    `channel` and/or `language`, everything but the per-channel and per-language breakdown is of those turns
    only; the breakdown always shows every channel and language, so that the page can offer them. Test traffic
    (bot/analytics/test_traffic.py) is left out unless `include_tests`; how much there was is said either way."""
    titles = titles or {}
    # The Review page's "try it" box talks to the bot as staff, not as a user: its conversations are left out.
    turns = [turn for turn in turns if not turn.conversation_id.startswith(STAFF_TRY_PREFIX)]
    tests = [turn for turn in turns if is_test_traffic(turn.conversation_id)]
    if not include_tests:
        turns = [turn for turn in turns if not is_test_traffic(turn.conversation_id)]
    chosen = [
        turn
        for turn in turns
        if (channel is None or turn.channel == channel) and (language is None or turn.language == language)
    ]
    channels = _in((turn.channel for turn in turns), CHANNELS)
    languages = _in((turn.language for turn in turns), LANGUAGES)
    all_channels = list(CHANNELS) + [c for c in channels if c not in CHANNELS]
    all_languages = list(LANGUAGES) + [lang for lang in languages if lang not in LANGUAGES]

    def where(test: Callable[[TurnRecord], bool]) -> dict[str, Any]:
        return figures([turn for turn in turns if test(turn)])

    daily = _daily(chosen, first, last, zone)
    breakdown = []
    for each_channel in all_channels:
        for each_language in all_languages:
            row = where(lambda t, c=each_channel, lang=each_language: t.channel == c and t.language == lang)
            if row["user_messages"] or (each_channel in CHANNELS and each_language in LANGUAGES):
                breakdown.append({"channel": each_channel, "language": each_language, **row})
    return {
        "period": {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "timezone": str(zone),
            "days": (last - first).days + 1,
        },
        "filter": {"channel": channel, "language": language, "tests": include_tests},
        "test_traffic": {
            "included": include_tests,
            "conversations": len({turn.conversation_id for turn in tests}),
            "user_messages": len(tests),
            "sender_prefixes": list(TEST_SENDER_PREFIXES),
        },
        "channels": all_channels,
        "languages": all_languages,
        "totals": figures(chosen),
        "by_channel": {c: where(lambda t, c=c: t.channel == c) for c in all_channels},
        "by_language": {lang: where(lambda t, lang=lang: t.language == lang) for lang in all_languages},
        "by_channel_language": breakdown,
        "daily": daily,
        "active_days": [row for row in daily if row["user_messages"]],
        "trend": _trend(daily),
        "hours": _hours(chosen, zone),
        "top_facts": _top_facts(chosen, titles),
        "helpfulness": _helpfulness(chosen, titles),
    }


def _cell(value: Any) -> Any:
    """A cell as a spreadsheet reads it safely: no text that a spreadsheet would run as a formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _summary_rows(data: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    chosen = data["filter"]
    # The first row is what the rest of the page shows: everything, or the chosen channel and language.
    rows = [[chosen["channel"] or "all", chosen["language"] or "all", *(data["totals"][n] for n in FIGURES)]]
    rows += [[channel, "all", *(row[n] for n in FIGURES)] for channel, row in data["by_channel"].items()]
    rows += [["all", language, *(row[n] for n in FIGURES)] for language, row in data["by_language"].items()]
    rows += [[row["channel"], row["language"], *(row[n] for n in FIGURES)] for row in data["by_channel_language"]]
    return ["channel", "language", *FIGURES], rows


def csv_table(data: Mapping[str, Any], table: str) -> str:
    """One table of `insights(...)` as CSV text (comma-separated, a header row, UTF-8 when encoded)."""
    if table == "summary":
        header, rows = _summary_rows(data)
    elif table == "daily":
        header = ["date", *DAILY]
        rows = [[row["date"], *(row[name] for name in DAILY)] for row in data["daily"]]
    elif table == "hours":
        hours = data["hours"]
        header = ["weekday", *(f"{hour:02d}" for hour in range(24)), "total"]
        rows = [[day, *counts, sum(counts)] for day, counts in zip(hours["weekdays"], hours["grid"], strict=True)]
        rows.append(["total", *hours["by_hour"], sum(hours["by_hour"])])
    elif table == "helpfulness":
        header = list(HELPFULNESS)
        rows = [[row[name] for name in header] for row in data["helpfulness"]]
    elif table == "facts":
        header = ["fact", "topic", "title", "answers", "via_button"]
        rows = [[row[name] for name in header] for row in data["top_facts"]]
    else:
        raise ValueError(f"unknown table {table!r}; use one of {', '.join(TABLES)}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_cell(value) for value in row] for row in rows])
    return out.getvalue()
