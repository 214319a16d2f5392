"""The Insights page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright): sign in, the
charts are drawn by the Chart.js the back office serves (under its Content-Security-Policy, nothing refused),
the tables are there, axe-core finds no violation. Screenshot: reports/insights/insights.png."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from insights_seed import seeded_conversations, utc, write_rows
from pydantic import SecretStr

from bot.handoff.config import HandoffSettings
from bot.settings import PROJECT_ROOT
from bot.web.passwords import hash_password
from tests.web.web_helpers import PASSWORD, USER
from tests.widget.widget_helpers import CHROMIUM, TIMEOUT, ServedApp, chromium_browser, wait_until

SHOTS = PROJECT_ROOT / "reports" / "insights"
AXE = PROJECT_ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"
CHARTS = PROJECT_ROOT / "bot" / "web" / "static" / "charts" / "chart.umd.min.js"
PERIOD = "from=2026-03-25&to=2026-04-02"
CANVASES = ("chart-channels", "chart-daily", "chart-outcomes", "chart-hours", "chart-weekdays", "chart-facts")


def _run(script: str) -> None:
    done = subprocess.run([str(PROJECT_ROOT / "scripts" / script)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"scripts/{script} failed (needs node and npm):\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """The back office on a loopback port, on a tracker store seeded with 60 conversations."""
    if not CHROMIUM.is_file():
        pytest.skip("no /usr/bin/chromium: install Debian's chromium (apt-get install -y chromium)")
    _run("build_charts.sh")  # the pinned Chart.js into bot/web/static/charts/
    if not AXE.is_file():
        _run("build_widget.sh")  # npm ci in widget/, where axe-core is pinned
    tmp = tmp_path_factory.mktemp("insights-browser")
    tracker = f"sqlite:///{tmp / 'tracker.db'}"
    write_rows(tracker, seeded_conversations(seed=3, start=utc(2026, 3, 25), days=9, count=60))
    app = ServedApp(tmp)
    app.settings = app.settings.model_copy(
        update={"manager_user": USER, "manager_password_hash": SecretStr(hash_password(PASSWORD))}
    )
    app.handoff = HandoffSettings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp / 'handoff.db'}",
        tracker_database_url=tracker,
        timezone="Europe/Helsinki",
        retention_days=36500,  # the seed's dates are older than the default 90 days
    )
    app.start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium_browser()


def sign_in(page: Any) -> None:
    page.goto(f"/inbox/insights?{PERIOD}")
    assert "/inbox/login" in page.url  # signed out: the sign-in form first
    page.fill("input[name=user]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"**/inbox/insights?{PERIOD}")


def test_sign_in_see_the_charts_and_tables(browser: Any, served: ServedApp) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=served.url)
    context.set_default_timeout(TIMEOUT)
    problems: list[str] = []
    try:
        page = context.new_page()
        # A CSP refusal, a script error or a failed file shows up here.
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        sign_in(page)
        assert page.inner_text("h1") == "Insights"
        assert page.get_attribute("a[href='/inbox/insights']", "href") == "/inbox/insights"  # in the header
        wait_until(page, f"{json.dumps(list(CANVASES))}.every(id => window.Chart && Chart.getChart(id))")
        drawn = page.evaluate(
            """ids => ids.map(id => {
                const chart = Chart.getChart(id);
                return [id, chart.canvas.width > 200 && chart.canvas.height > 100,
                        chart.data.datasets.reduce((n, set) => n + set.data.reduce((a, b) => a + b, 0), 0)];
            })""",
            list(CANVASES),
        )
        assert all(sized and total > 0 for _, sized, total in drawn), drawn
        assert page.evaluate("Chart.version") == json.loads(
            (PROJECT_ROOT / "scripts" / "charts" / "package.json").read_text()
        )["dependencies"]["chart.js"]
        # The charts' numbers are the tables' numbers: messages per hour, drawn and in the heat table.
        by_hour = page.evaluate("Chart.getChart('chart-hours').data.datasets[0].data")
        page.click("text=Messages by weekday and hour")
        totals_row = page.locator("table.heat tbody tr").last.locator("td")
        assert [int(totals_row.nth(hour).inner_text()) for hour in range(24)] == by_hour
        # The days with messages are shown as they are; all days of the period under "Daily figures".
        assert page.locator("#active-days").is_visible()
        page.click("text=Daily figures")
        daily = page.locator("table:has(#daily-caption)")
        assert daily.is_visible() and daily.locator("tbody tr").count() == 9
        # A 9-day period: a bar a day, stacked by channel, the same numbers as the table of days with messages.
        stacks = page.evaluate("Chart.getChart('chart-daily').data.datasets.map(set => set.label)")
        assert stacks == ["Website chat", "Telegram", "REST"], stacks
        assert page.locator("a[download]").count() == 5  # with the helpfulness table's
        assert page.locator("#helpfulness tbody tr").count() > 0
        answered = [r for r in served.answered if r[0].startswith("/static/")]
        assert ("/static/charts/chart.umd.min.js", 200) in answered and ("/static/insights.js", 200) in answered
        assert problems == []
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "insights.png"), full_page=True)
    finally:
        context.close()


def test_a_csv_download_from_the_page(browser: Any, served: ServedApp, tmp_path: Path) -> None:
    context = browser.new_context(base_url=served.url, accept_downloads=True)
    context.set_default_timeout(TIMEOUT)
    try:
        page = context.new_page()
        sign_in(page)
        with page.expect_download() as download:
            page.click("text=Download the daily figures as CSV")
        saved = tmp_path / "daily.csv"
        download.value.save_as(saved)
        lines = saved.read_text().splitlines()
        assert lines[0] == "date,conversations,user_messages,questions,answered,dont_know,handoffs_started,buttons"
        assert len(lines) == 10 and lines[1].startswith("2026-03-25,")
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 360])
def test_accessibility_axe(browser: Any, served: ServedApp, width: int) -> None:
    # bypass_csp: axe is injected as an inline script, which the page's CSP forbids.
    context = browser.new_context(
        viewport={"width": width, "height": 800}, base_url=served.url, bypass_csp=True, reduced_motion="reduce"
    )
    context.set_default_timeout(TIMEOUT)
    try:
        page = context.new_page()
        sign_in(page)
        wait_until(page, f"{json.dumps(list(CANVASES))}.every(id => window.Chart && Chart.getChart(id))")
        for summary in page.locator("details summary").all():  # the tables inside are checked too
            summary.click()
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
        )
        found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]
        print(
            f"axe {result['testEngine']['version']} at {width}px: {len(result['violations'])} violations, "
            f"{len(result['passes'])} rules passed; to review by hand: "
            f"{[(v['id'], [n['target'] for n in v['nodes']][:3]) for v in result['incomplete']]}"
        )
        assert found == []
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"insights-{width}.png"), full_page=True)
        if width == 360:  # the page scrolls only inside its wide tables, not sideways as a whole
            wide = page.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth)"
                ".filter(e => !e.closest('.scroll')).map(e => e.tagName + '.' + e.className).slice(0, 8)"
            )
            assert page.evaluate("document.documentElement.scrollWidth") <= width, wide
    finally:
        context.close()
