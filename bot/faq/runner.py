"""`bot faq test`: run the FAQ cases against the bot over REST, concurrently (each case its own
conversation; a conversation case's turns in order within it), print a summary by topic and language,
and write JUnit XML and an HTML report that show each failing turn."""

from __future__ import annotations

import asyncio
import re
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from bot.faq.cases import Case, Turn
from bot.faq.report_html import write_html

if TYPE_CHECKING:
    import aiohttp

# Outcomes: passed; failed; known_miss (an expected failure); fixed (a known_miss that now passes);
# error (no reply: HTTP error or timeout). Only failed and error fail the run.
FAILING = {"failed", "error"}


class BotUnreachable(RuntimeError):
    """No bot answers at the URL."""


class TokenRefused(BotUnreachable):
    """The bot answers, but not to this client: a deployment's REST token is missing or wrong."""


# A refused message (429) is sent again after the server's Retry-After, this many times at most.
MAX_RATE_RETRIES = 5
MAX_RATE_WAIT = 30.0


@dataclass
class TurnResult:
    """The reply to one turn of a case and how it was judged. A turn after one that got no reply is not
    sent (`sent` stays False): the conversation it belongs to is broken."""

    turn: Turn
    reply: str = ""
    missing: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    latency: float = 0.0
    error: str | None = None
    sent: bool = False

    @property
    def ok(self) -> bool:
        return self.sent and self.error is None and not self.missing and not self.forbidden


@dataclass
class Result:
    """A case's outcome; a single question is a case of one turn."""

    case: Case
    turns: list[TurnResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.turns:
            self.turns = [TurnResult(turn) for turn in self.case.turns]

    @property
    def reply(self) -> str:
        if not self.case.is_conversation:
            return self.turns[0].reply
        return "\n\n".join(f"[{n}] {t.reply}" for n, t in enumerate(self.turns, 1) if t.sent or t.error)

    @property
    def found(self) -> list[str]:
        return [p for t in self.turns for p in t.found]

    @property
    def missing(self) -> list[str]:
        return [p for t in self.turns for p in t.missing]

    @property
    def forbidden(self) -> list[str]:
        return [p for t in self.turns for p in t.forbidden]

    @property
    def latency(self) -> float:
        return sum(t.latency for t in self.turns)

    @property
    def error(self) -> str | None:
        return next((t.error for t in self.turns if t.error is not None), None)

    @property
    def failing_turns(self) -> list[tuple[int, TurnResult]]:
        """(1-based number, turn) of every turn that did not pass, in order."""
        return [(n, t) for n, t in enumerate(self.turns, 1) if not t.ok]

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.turns)

    @property
    def outcome(self) -> str:
        if self.case.known_miss:
            return "fixed" if self.ok else "known_miss"
        if self.error is not None:
            return "error"
        return "passed" if self.ok else "failed"


def judge(expectation: Turn | Case, reply: str) -> tuple[list[str], list[str], list[str]]:
    """(expected found, expected missing, forbidden present) for a reply to a turn (or a one-turn case)."""
    found = [p for p in expectation.expect if re.search(p, reply, re.IGNORECASE)]
    missing = [p for p in expectation.expect if p not in found]
    forbidden = [p for p in expectation.forbid if re.search(p, reply, re.IGNORECASE)]
    return found, missing, forbidden


def reply_text(replies: object) -> str:
    """The text the bot sent, with the titles of its buttons (in order) on a last line as [Title]: a
    reply's buttons are part of what it says ("Which one do you mean?" is answered by them)."""
    if not isinstance(replies, list):
        raise ValueError(f"the webhook answered {type(replies).__name__}, not a list of messages")
    messages = [r for r in replies if isinstance(r, dict)]
    text = "\n".join(str(r.get("text") or "") for r in messages)
    buttons = [str(b.get("title", "")) for r in messages for b in r.get("buttons") or [] if isinstance(b, dict)]
    if buttons:
        text += "\n" + " ".join(f"[{t}]" for t in buttons)
    return text


async def probe(url: str, timeout: float = 5.0) -> None:
    import aiohttp

    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(f"{url}/") as response,
        ):
            await response.read()
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        raise BotUnreachable(f"could not reach the bot at {url} ({exc.__class__.__name__}: {exc})") from exc


def rest_headers(token: str | None) -> dict[str, str]:
    """The REST channel's client token (RIS3_REST_TOKEN on the server), when the deployment sets one."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def retry_wait(response_headers: Mapping[str, str], attempt: int) -> float | None:
    """How long to wait before sending a message again that the rate limit refused (429), or None to give
    up: the server's Retry-After, at most MAX_RATE_WAIT seconds, for at most MAX_RATE_RETRIES tries. Off
    loopback the per-address limit applies to the staff member's machine running the whole suite."""
    if attempt >= MAX_RATE_RETRIES:
        return None
    try:
        seconds = float(response_headers.get("Retry-After", "1"))
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.5), MAX_RATE_WAIT)


async def run_cases(
    url: str,
    cases: list[Case],
    concurrency: int = 4,
    timeout: float = 60.0,
    on_done: Callable[[Result], None] | None = None,
    sender_prefix: str = "faq",
    token: str | None = None,
) -> list[Result]:
    """Every case against the bot's REST webhook, `concurrency` cases at a time. Each case is its own
    conversation (a fresh sender); a conversation's turns are sent one after the other, each after the
    reply to the one before."""
    import aiohttp

    url = url.rstrip("/")
    await probe(url)
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(session: aiohttp.ClientSession, case: Case) -> Result:
        result = Result(case)
        sender = f"{sender_prefix}-{case.id}-{uuid.uuid4().hex[:8]}"
        async with semaphore:
            for turn in result.turns:
                started = time.perf_counter()
                try:
                    turn.reply = reply_text(await _send(session, url, sender, turn.turn.question, token))
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError) as exc:
                    turn.error = f"{exc.__class__.__name__}: {exc}"
                finally:
                    turn.latency = time.perf_counter() - started
                if turn.error is not None:
                    break  # the conversation is broken: later turns would be judged out of context
                turn.sent = True
                turn.found, turn.missing, turn.forbidden = judge(turn.turn, turn.reply)
        if on_done:
            on_done(result)
        return result

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        return list(await asyncio.gather(*(one(session, case) for case in cases)))


async def _send(session: aiohttp.ClientSession, url: str, sender: str, text: str, token: str | None) -> object:
    body = {"sender": sender, "message": text}
    attempt = 0
    while True:
        async with session.post(f"{url}/webhooks/rest/webhook", json=body, headers=rest_headers(token)) as response:
            if response.status == 401:
                raise TokenRefused(
                    "the bot refused the request (401): set RIS3_REST_TOKEN to the deployment's REST token"
                )
            wait = retry_wait(response.headers, attempt) if response.status == 429 else None
            if wait is None:
                response.raise_for_status()
                return await response.json()
        attempt += 1
        await asyncio.sleep(wait)


# ------------------------------------------------------------------------------------------ output
COLUMNS = ("passed", "failed", "error", "known_miss", "fixed")


def summary_table(results: list[Result]) -> str:
    groups: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for r in results:
        groups[(r.case.topic, r.case.language)][r.outcome] += 1
    total: Counter[str] = Counter(r.outcome for r in results)
    head = f"{'topic':<14}{'lang':<6}" + "".join(f"{c:>11}" for c in COLUMNS) + f"{'pass rate':>11}"
    lines = [head, "-" * len(head)]

    def row(topic: str, lang: str, counts: Counter[str]) -> str:
        # Known misses count against the rate: it says how many questions get a right answer.
        total = sum(counts[c] for c in COLUMNS)
        rate = f"{100 * (counts['passed'] + counts['fixed']) / total:.0f}%" if total else "-"
        return f"{topic:<14}{lang:<6}" + "".join(f"{counts[c]:>11}" for c in COLUMNS) + f"{rate:>11}"

    for (topic, lang), counts in sorted(groups.items()):
        lines.append(row(topic, lang, counts))
    lines.append("-" * len(head))
    for lang in sorted({r.case.language for r in results}):
        lines.append(row("all", lang, Counter(r.outcome for r in results if r.case.language == lang)))
    lines.append(row("all", "all", total))
    lines += conversation_lines(results)
    return "\n".join(lines)


def conversation_lines(results: list[Result]) -> list[str]:
    """Per language: conversation cases passed of all, and their turns passed of all (none without any)."""
    lines = []
    for lang in sorted({r.case.language for r in results if r.case.is_conversation}):
        mine = [r for r in results if r.case.is_conversation and r.case.language == lang]
        passed = sum(r.ok for r in mine)
        turns = [t for r in mine for t in r.turns]
        lines.append(
            f"conversations {lang}: {passed}/{len(mine)} passed, turns {sum(t.ok for t in turns)}/{len(turns)} passed"
        )
    return lines


def failure_lines(result: Result) -> list[str]:
    """What went wrong in a case, one line per failing turn of a conversation."""
    r = result
    if not r.case.is_conversation:
        return [f"{r.case.id} ({r.case.language}) {r.case.question!r}: missing {r.missing}, "
                f"forbidden {r.forbidden}{', ' + r.error if r.error else ''}"]
    lines = [f"{r.case.id} ({r.case.language}) conversation of {len(r.turns)} turns"]
    for number, turn in r.failing_turns:
        if turn.error is not None:
            why = turn.error
        elif not turn.sent:
            why = "not sent (an earlier turn got no reply)"
        else:
            why = f"missing {turn.missing}, forbidden {turn.forbidden}, reply {_short(turn.reply)!r}"
        lines.append(f"    turn {number}/{len(r.turns)} {turn.turn.question!r}: {why}")
    return lines


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _turn_detail(number: int, total: int, turn: TurnResult) -> str:
    state = "passed" if turn.ok else ("not sent" if not turn.sent and turn.error is None else "FAILED")
    detail = f"turn {number}/{total} {state}\nquestion: {turn.turn.question}\nreply: {turn.reply}"
    if turn.sent:
        detail += f"\nmissing: {turn.missing}\nforbidden: {turn.forbidden}"
    if turn.error:
        detail += f"\nerror: {turn.error}"
    return detail


def write_junit(results: list[Result], path: Path, seconds: float) -> None:
    counts = Counter(r.outcome for r in results)
    suite = ET.Element(
        "testsuite",
        name="faq",
        tests=str(len(results)),
        failures=str(counts["failed"]),
        errors=str(counts["error"]),
        skipped=str(counts["known_miss"]),
        time=f"{seconds:.3f}",
    )
    for r in results:
        tc = ET.SubElement(
            suite, "testcase", classname=f"faq.{r.case.language}.{r.case.topic}",
            name=f"{r.case.id}: {r.case.title}", time=f"{r.latency:.3f}",
        )
        if r.case.is_conversation:
            detail = "\n\n".join(_turn_detail(n, len(r.turns), t) for n, t in enumerate(r.turns, 1))
            failing = [str(n) for n, _ in r.failing_turns]
            message = f"turn {', '.join(failing)} of {len(r.turns)}: reply does not match"
        else:
            detail = f"question: {r.case.question}\nreply: {r.reply}\nmissing: {r.missing}\nforbidden: {r.forbidden}"
            message = "reply does not match"
        if r.outcome == "failed":
            ET.SubElement(tc, "failure", message=message).text = detail
        elif r.outcome == "error":
            ET.SubElement(tc, "error", message=r.error or "error").text = detail
        elif r.outcome == "known_miss":
            ET.SubElement(tc, "skipped", message=f"known miss: {r.case.known_miss}").text = detail
        elif r.outcome == "fixed":
            ET.SubElement(tc, "system-out").text = f"known miss now passes (fixed): {r.case.known_miss}"
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


class _Progress:
    """tqdm when installed, else a simple bar on stderr."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        try:
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=sys.stderr, unit="case", desc="faq")
        except ImportError:
            self.bar = None

    def __call__(self, result: Result) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            return
        width = 30
        filled = width * self.done // max(1, self.total)
        sys.stderr.write(f"\rfaq [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}")
        if self.done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def main(
    url: str | None,
    cases_dir: Path,
    out: Path,
    concurrency: int = 4,
    progress: bool = True,
    token: str | None = None,
) -> int:
    from bot.faq.cases import CaseError, load_cases

    try:
        cases = load_cases(cases_dir)
    except CaseError as exc:
        print(f"faq test: {exc}", file=sys.stderr)
        return 2
    bot = None
    if url is None:
        from bot.runtime import BotProcesses, StartError

        print("faq test: starting the bot (no --url given)…", file=sys.stderr)
        try:
            bot = BotProcesses().start()
        except StartError as exc:
            print(f"faq test: the bot did not start: {exc}", file=sys.stderr)
            return 2
        url = bot.url
    bar = None
    try:
        if bot is not None:
            # The first answer loads the embedding model: not part of the timed run.
            warm = Case("warm-up", "what is smart specialisation?", "en", "about", ["."])
            asyncio.run(run_cases(url, [warm], timeout=180, token=token))
        asyncio.run(probe(url.rstrip("/")))
        bar = _Progress(len(cases)) if progress else None
        started = time.perf_counter()
        results = asyncio.run(run_cases(url, cases, concurrency, on_done=bar, token=token))
    except BotUnreachable as exc:
        print(f"faq test: {exc}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
        if bot is not None:
            bot.stop()
    seconds = time.perf_counter() - started
    write_junit(results, out / "junit.xml", seconds)
    write_html(results, out / "report.html", seconds, url)
    print(summary_table(results))
    counts = Counter(r.outcome for r in results)
    for r in results:
        if r.outcome in FAILING:
            print("FAILED " + "\n".join(failure_lines(r)))
        elif r.outcome == "fixed":
            print(f"FIXED  {r.case.id} ({r.case.language}) {r.case.title!r} (was: {r.case.known_miss})")
    print(
        f"{len(results)} cases in {seconds:.1f} s: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['error']} errors, {counts['known_miss']} known misses, {counts['fixed']} fixed; "
        f"report: {out / 'report.html'}, JUnit: {out / 'junit.xml'}"
    )
    return 1 if any(counts[c] for c in FAILING) else 0
