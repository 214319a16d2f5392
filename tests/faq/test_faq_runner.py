"""The FAQ runner against a loopback stand-in for the bot's REST webhook (not the real bot)."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from aiohttp import web

from bot.faq.cases import load_cases
from bot.faq.runner import main, run_cases
from bot.runtime import free_port

# The stand-in bot's replies, by message.
REPLIES = {
    "who is the project manager?": "More information is available from the project manager Petri Tolmunen.",
    "what are the priorities?": "Smart and green logistics; renewable materials and energy; data economy.",
    "is tourism a priority?": "Yes, tourism is one of the priorities.",
    "show me html": "<script>alert('x')</script> & <b>bold</b>",
    "a hard one": "I'm sorry, I don't know that.",
    "kuka on projektipäällikkö?": "Lisätietoja saa projektipäällikkö Petri Tolmuselta.",
}


class StandIn:
    def __init__(self) -> None:
        self.port = free_port()
        self.senders: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.senders.append(body["sender"])
        text = REPLIES.get(body["message"], "I'm sorry, I don't know that.")
        return web.json_response([{"recipient_id": body["sender"], "text": text}])

    async def _root(self, _: web.Request) -> web.Response:
        return web.Response(text="Hello from Rasa: stand-in")

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_get("/", self._root)
        app.router.add_post("/webhooks/rest/webhook", self._webhook)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", self.port).start())
        self.ready.set()
        self.loop.run_forever()

    def __enter__(self) -> StandIn:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


CASES = """
- question: "who is the project manager?"
  language: en
  tags: [contact, en]
  expect: ['Tolmunen']
- question: "what are the priorities?"
  language: en
  tags: [priorities, en]
  expect: ['logistic', 'gamification']
- question: "is tourism a priority?"
  language: en
  tags: [priorities, en, paraphrase]
  expect: ['priorit']
  not: ['tourism is one of']
- question: "show me html"
  language: en
  tags: [about, en]
  expect: ['bold']
- question: "a hard one"
  language: en
  tags: [out_of_scope, en]
  expect: ['Tolmunen']
  known_miss: "no contact in the stand-in's reply"
- question: "kuka on projektipäällikkö?"
  language: fi
  tags: [contact, fi]
  expect: ['Tolmu']
  known_miss: "was not answered once"
"""


def _write(tmp_path: Path, text: str) -> Path:
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "sample.yml").write_text(text, encoding="utf-8")
    return cases


def test_outcomes_of_each_case(stand_in: StandIn, tmp_path: Path) -> None:
    cases = load_cases(_write(tmp_path, CASES))
    results = {r.case.question: r for r in asyncio.run(run_cases(stand_in.url, cases, concurrency=3))}
    assert results["who is the project manager?"].outcome == "passed"
    wrong_fact = results["what are the priorities?"]
    assert wrong_fact.outcome == "failed" and wrong_fact.missing == ["gamification"]
    assert wrong_fact.found == ["logistic"]
    forbidden = results["is tourism a priority?"]
    assert forbidden.outcome == "failed" and forbidden.forbidden == ["tourism is one of"]
    assert results["a hard one"].outcome == "known_miss"
    assert results["kuka on projektipäällikkö?"].outcome == "fixed"
    # Each case is its own conversation.
    assert len(set(stand_in.senders[-len(cases):])) == len(cases)


def test_report_and_junit_hold_every_case_escaped(
    stand_in: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    code = main(stand_in.url, _write(tmp_path, CASES), out, concurrency=2, progress=False)
    assert code == 1  # two real failures
    printed = capsys.readouterr().out
    assert re.search(r"all\s+all\s+2\s+2\s+0\s+1\s+1", printed), printed
    assert "FIXED" in printed and "kuka on projektipäällikkö?" in printed
    suite = ET.parse(out / "junit.xml").getroot()
    names = [tc.get("name") for tc in suite.iter("testcase")]
    assert len(names) == 6 and all(any(q in n for n in names) for q in REPLIES if q != "is tourism a priority?")
    assert suite.get("failures") == "2" and suite.get("skipped") == "1"
    page = (out / "report.html").read_text(encoding="utf-8")
    for question in ("who is the project manager?", "what are the priorities?", "a hard one", "show me html"):
        assert question in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp;" in page
    assert "missing <code>gamification</code>" in page and "forbidden present" in page


def test_known_misses_alone_do_not_fail_the_run(stand_in: StandIn, tmp_path: Path) -> None:
    cases = _write(tmp_path, "- " + "\n- ".join(CASES.strip().split("\n- ")[4:]))
    assert len(load_cases(cases)) == 2
    assert main(stand_in.url, cases, tmp_path / "out", progress=False) == 0


def test_unreachable_bot_gives_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    assert main(url, _write(tmp_path, CASES), tmp_path / "out", progress=False) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("faq test: could not reach the bot at") and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_the_cli_command(stand_in: StandIn, tmp_path: Path) -> None:
    from bot.cli import main as cli

    cases = _write(tmp_path, CASES.split("\n- ")[0] + "\n")
    assert cli(["faq", "test", "--url", stand_in.url, "--cases", str(cases), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "report.html").is_file()
