"""The FAQ report in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright), opened from disk as
staff open it: nothing but the file is loaded, markup in a reply does not run, the filters hide and show the
cases, without JavaScript every case is shown, axe-core finds no violation. Screenshot: reports/faq/report.png."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.faq.cases import Case, Turn
from bot.faq.report_html import write_html
from bot.faq.runner import Result, judge
from bot.settings import PROJECT_ROOT
from tests.widget.widget_helpers import TIMEOUT, chromium_browser

SHOTS = PROJECT_ROOT / "reports" / "faq"
AXE = PROJECT_ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

MANAGER_EN = (
    "More information is available from the project manager Petri Tolmunen, GSM +358 44 747 8512.\n"
    "Source: Kymenlaakso's Smart Specialisation RIS3 Strategy"
)
MANAGER_FI = "Lisätietoja saa projektipäällikkö Petri Tolmuselta, puh. +358 44 747 8512.\nLähde: Kymenlaakson liitto"
PRIORITIES_EN = (
    "Kymenlaakso's smart specialisation priorities for 2021–2025 are: 1) smart and green logistics; "
    "2) renewable materials and energy; 3) data economy, cyber security and gamification."
)
PRIORITIES_SHORT = "Smart and green logistics; renewable materials and energy."
SORRY_EN = "I'm sorry, I don't know that: the strategy text I answer from does not cover it.\n[Contact details]"
SORRY_FI = "Valitettavasti en tiedä sitä: strategiateksti ei kerro siitä.\n[Yhteystiedot]"
# A reply that would run script and load an image if it were not escaped.
HOSTILE = '<script>window.injected = 1</script><img src="x" onerror="window.injected = 2"> & more'

# (question, expect, forbid, reply; None: not answered, an error)
Exchange = tuple[str, list[str], list[str], str | None]


def _result(case_id: str, topic: str, language: str, exchanges: list[Exchange], known_miss: str | None = None,
            tags: tuple[str, ...] = ()) -> Result:
    """A case and its judged replies, as the runner would make them; after a turn with no reply none is sent."""
    turns = tuple(Turn(q, expect, forbid) for q, expect, forbid, _ in exchanges)
    case = Case(case_id, turns[0].question, language, topic, turns[0].expect, turns[0].forbid,
                tags=[topic, language, *tags], known_miss=known_miss, file=f"stakeholders_{language}.yml",
                turns=turns if len(turns) > 1 else ())
    result = Result(case)
    for turn, (_, _, _, reply) in zip(result.turns, exchanges, strict=True):
        turn.latency = 0.3
        if reply is None:
            turn.error = "ClientResponseError: 500, message='Internal Server Error'"
            break
        turn.reply, turn.sent = reply, True
        turn.found, turn.missing, turn.forbidden = judge(turn.turn, reply)
    return result


def sample_results() -> list[Result]:
    return [
        _result("about-en", "about", "en", [("what is smart specialisation about?", ["strategic approach"], [],
                "Smart specialisation is a strategic approach to develop and renew business life.")]),
        _result("about-fi", "about", "fi", [("mitä älykäs erikoistuminen tarkoittaa?", ["strateginen"], [],
                "Älykäs erikoistuminen on strateginen lähestymistapa.")]),
        _result("priorities-en", "priorities", "en", [("which sectors come first in the strategy?",
                ["logistic", "gamification"], [], PRIORITIES_SHORT)], tags=("paraphrase",)),
        _result("priorities-conversation-en", "priorities", "en", [
            ("which sectors come first in the strategy?", ["logistic"], [], PRIORITIES_EN),
            ("the second of those", ["renewable materials and energy"], ["I.m sorry"], SORRY_EN),
            ("and the first?", ["smart and green logistics"], [], "Smart and green logistics (logistical priority)."),
        ], tags=("conversation", "ordinal")),
        _result("priorities-conversation-fi", "priorities", "fi", [
            ("mitkä alat strategia nostaa esiin?", ["logistiik"], [], "Älykäs ja vihreä logistiikka; uusiutuvat."),
            ("toinen", ["uusiutuv"], ["Valitettavasti"], "Uusiutuvat materiaalit ja energia."),
        ], tags=("conversation", "ordinal")),
        _result("contact-en", "contact", "en", [("phone numbr of the project manger?", ["747 8512"],
                ["@kymenlaakso"], MANAGER_EN)], tags=("typo",)),
        _result("contact-fi", "contact", "fi", [("kenelle soitan strategiasta?", ["Tolmu"], [], SORRY_FI)],
                known_miss="'soitan' is not taken as asking for a contact"),
        _result("contact-conversation-en", "contact", "en", [
            ("who runs the project?", ["Tolmunen"], [], MANAGER_EN),
            ("his email?", ["email"], [], None),
            ("and the phone?", ["747 8512"], [], None),
        ], tags=("conversation",)),
        _result("out-of-scope-fi", "out_of_scope", "fi", [("kuka on Kotkamillsin toimitusjohtaja", ["Valitettavasti"],
                ["Tolmu.*Kotka"], SORRY_FI)], known_miss="'Kotkamills' matches Kotka"),
        _result("timeline-en", "timeline", "en", [("when does the new strategy come out?", ["February 2021"], [],
                "The new strategy will be published in February 2021.")]),
        _result("timeline-fi", "timeline", "fi", [("milloin strategia julkaistaan?", ["helmikuu"], [],
                "Uusi strategia julkaistaan helmikuussa 2021.")]),
        _result("project-en", "project", "en", [("Who paid for the work on updating the strategy?",
                ["ERDF|European Regional Development Fund"], [], SORRY_EN)], known_miss="funding is not asked for"),
        _result("markup-en", "about", "en", [("show me <b>markup</b>", ["strategy"], [], HOSTILE)]),
    ]


OUTCOMES = {r.case.id: r.outcome for r in sample_results()}


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faq-report") / "report.html"
    write_html(sample_results(), path, 4.2, "http://127.0.0.1:5005")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium_browser()


def _open(browser: Any, report_file: Path, **options: Any) -> tuple[Any, Any, list[str], list[str]]:
    """(context, page, every URL requested, console errors) for the report opened from disk."""
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **options})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(report_file.as_uri())
    return context, page, requested, problems


def _shown(page: Any) -> list[str]:
    """The ids of the cases in view, in page order."""
    return page.locator("article.case:visible .case-id").all_inner_texts()


def _groups_shown(page: Any) -> list[str]:
    return page.eval_on_selector_all("section.group", "gs => gs.filter(g => !g.hidden).map(g => g.id)")


def test_the_filters_hide_and_show_cases(browser: Any, report_file: Path) -> None:
    context, page, requested, problems = _open(browser, report_file)
    try:
        assert page.locator("#filters").is_visible()
        assert page.inner_text("#filter-status") == f"Showing all {len(OUTCOMES)} cases."
        everything = _shown(page)
        assert sorted(everything) == sorted(OUTCOMES)
        ranks = ["failed", "error", "fixed", "known_miss", "passed"]
        assert [ranks.index(OUTCOMES[c]) for c in everything] == sorted(ranks.index(OUTCOMES[c]) for c in everything)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "report.png"), full_page=True)

        page.select_option("#filter-topic", "priorities")
        assert _shown(page) == ["priorities-conversation-en", "priorities-en", "priorities-conversation-fi"]
        assert page.inner_text("#filter-status") == f"Showing 3 of {len(OUTCOMES)} cases."
        assert _groups_shown(page) == ["failures", "passes"]  # no known miss among them: that group goes

        page.select_option("#filter-language", "fi")
        assert _shown(page) == ["priorities-conversation-fi"]
        assert _groups_shown(page) == ["passes"]

        page.select_option("#filter-outcome", "failed")
        assert _shown(page) == [] and _groups_shown(page) == []
        assert page.inner_text("#filter-status") == "No case matches these filters."

        page.click("#filters button[type=reset]")
        page.wait_for_function(f"document.querySelectorAll('article.case:not([hidden])').length === {len(OUTCOMES)}")
        assert _shown(page) == everything and _groups_shown(page) == ["failures", "known-misses", "passes"]
        assert page.input_value("#filter-topic") == page.input_value("#filter-outcome") == ""

        page.select_option("#filter-outcome", "known_miss")
        assert sorted(_shown(page)) == ["contact-fi", "project-en"]
        page.select_option("#filter-outcome", "fixed")
        assert _shown(page) == ["out-of-scope-fi"]
        page.select_option("#filter-outcome", "error")
        assert _shown(page) == ["contact-conversation-en"]
        # The conversation shows each turn: the one that got no reply and the one never sent after it.
        turns = page.locator("article.case:visible li.turn")
        assert turns.count() == 3
        assert turns.locator(".turn-head .badge").all_inner_texts() == ["Passed", "No reply", "Not sent"]

        # The file is all there is: no request but the file itself, no script from a reply ran.
        assert requested == [report_file.as_uri()]
        assert page.evaluate("typeof window.injected") == "undefined"
        assert page.locator("article.case", has_text="show me").locator(".reply .text").text_content() == HOSTILE
        assert problems == []
    finally:
        context.close()


def test_without_javascript_every_case_is_shown(browser: Any, report_file: Path) -> None:
    context, page, requested, _ = _open(browser, report_file, java_script_enabled=False)
    try:
        assert not page.locator("#filters").is_visible()  # controls that would do nothing are not offered
        assert sorted(_shown(page)) == sorted(OUTCOMES)
        assert page.locator("table.summary tbody tr").count() == 10  # topic × language with cases
        assert requested == [report_file.as_uri()]
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 360])
def test_accessibility_axe(browser: Any, report_file: Path, width: int) -> None:
    if not AXE.is_file():
        done = subprocess.run([str(PROJECT_ROOT / "scripts" / "build_widget.sh")], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"scripts/build_widget.sh failed (needs node and npm):\n{done.stdout}\n{done.stderr}")
    context, page, _, _ = _open(browser, report_file, viewport={"width": width, "height": 800},
                                reduced_motion="reduce")
    try:
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(f"axe.run(document, {{runOnly: {{type: 'tag', values: {AXE_TAGS}}}}})")
        found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:5]) for v in result["violations"]]
        print(
            f"axe {result['testEngine']['version']} at {width}px: {len(result['violations'])} violations, "
            f"{len(result['passes'])} rules passed; to review by hand: "
            f"{[(v['id'], [n['target'] for n in v['nodes']][:3]) for v in result['incomplete']]}"
        )
        assert found == []
        # With a filter applied the page is still clean (the status line speaks, hidden cases are out of it).
        page.select_option("#filter-outcome", "failed")
        result = page.evaluate(f"axe.run(document, {{runOnly: {{type: 'tag', values: {AXE_TAGS}}}}})")
        assert [v["id"] for v in result["violations"]] == []
        if width == 360:  # the page scrolls sideways only inside its tables, not as a whole
            wide = page.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth)"
                ".filter(e => !e.closest('.scroll')).map(e => e.tagName + '.' + e.className).slice(0, 8)"
            )
            assert page.evaluate("document.documentElement.scrollWidth") <= width, wide
    finally:
        context.close()
