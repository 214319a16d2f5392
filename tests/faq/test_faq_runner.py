"""The FAQ runner against a loopback stand-in for the bot's REST webhook (not the real bot)."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from aiohttp import web

from bot.faq.cases import CaseError, load_case_file, load_cases, overlapping
from bot.faq.report_html import render
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


# Replies that depend on the conversation: (the sender's previous message, the message) -> reply.
FOLLOW_UPS = {
    ("what are the priorities?", "the second one"): "Renewable materials and energy is one of the priorities.",
    ("what are the priorities?", "the last one"): "Data economy, cyber security and gamification.",
    ("kuka on projektipäällikkö?", "entä numero?"): "Puh. +358 44 747 8512.",
}


class StandIn:
    def __init__(self) -> None:
        self.port = free_port()
        self.senders: list[str] = []
        # Every message received, as (sender, message), in order.
        self.received: list[tuple[str, str]] = []
        self.previous: dict[str, str] = {}
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        sender, message = body["sender"], body["message"]
        self.senders.append(sender)
        self.received.append((sender, message))
        if message == "break the server":
            return web.Response(status=500, text="boom")
        previous = self.previous.get(sender)
        self.previous[sender] = message
        if message == "which one?":
            buttons = [{"title": "Logistics", "payload": "/a"}, {"title": "Renewables", "payload": "/b"}]
            return web.json_response([{"recipient_id": sender, "text": "Which one do you mean?", "buttons": buttons}])
        text = FOLLOW_UPS.get((previous or "", message)) or REPLIES.get(message, "I'm sorry, I don't know that.")
        return web.json_response([{"recipient_id": sender, "text": text}])

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
    assert "missing <code>gamification</code>" in page
    assert "forbidden text present <code>tourism is one of</code>" in page


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


# ----------------------------------------------------------------------------------- conversations
CONVERSATIONS = """
- id: ordinals
  language: en
  tags: [priorities, en, conversation]
  turns:
    - question: "what are the priorities?"
      expect: ['logistic']
    - question: "the second one"
      expect: ['renewable']
      not: ["don't know"]
- id: wrong-second-turn
  language: en
  tags: [priorities, en, conversation]
  turns:
    - question: "what are the priorities?"
      expect: ['logistic']
    - question: "the last one"
      expect: ['logistic']
    - question: "which one?"
      expect: ['which one do you mean', 'Renewables']
- id: broken
  language: en
  tags: [contact, en, conversation]
  turns:
    - question: "who is the project manager?"
      expect: ['Tolmunen']
    - question: "break the server"
      expect: ['x']
    - question: "the second one"
      expect: ['renewable']
- id: finnish-known-miss
  language: fi
  tags: [contact, fi, conversation]
  known_miss: "the number was not given once"
  turns:
    - question: "kuka on projektipäällikkö?"
      expect: ['Tolmu']
    - question: "entä numero?"
      expect: ['747 8512']
- question: "who is the project manager?"
  language: en
  tags: [contact, en]
  expect: ['Tolmunen']
"""


def test_a_conversation_case_loads_with_its_turns(tmp_path: Path) -> None:
    cases = {c.id: c for c in load_cases(_write(tmp_path, CONVERSATIONS))}
    ordinals = cases["ordinals"]
    assert ordinals.is_conversation and ordinals.questions == ["what are the priorities?", "the second one"]
    assert ordinals.turns[1].expect == ["renewable"] and ordinals.turns[1].forbid == ["don't know"]
    # The case's own question and expectations are its first turn's, so code reading them still works.
    assert ordinals.question == "what are the priorities?" and ordinals.expect == ["logistic"]
    assert ordinals.title == "what are the priorities? → the second one"
    assert cases["finnish-known-miss"].known_miss and cases["finnish-known-miss"].language == "fi"
    # A single question is a case of one turn, numbered as before.
    single = cases["sample-005"]
    assert not single.is_conversation and single.turns[0].question == "who is the project manager?"
    assert single.turns[0].expect == ["Tolmunen"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- language: en\n  tags: [about, en]\n  turns:\n    - {question: 'a', expect: ['x']}\n",
         r"sample.yml #1: `turns` must list at least two turns"),
        ("- language: en\n  tags: [about, en]\n  turns:\n    - {question: 'a', expect: ['x']}\n    - {expect: ['y']}\n",
         r"sample.yml #1 turn 2: needs a `question`"),
        ("- language: en\n  tags: [about, en]\n  turns:\n    - {question: 'a', expect: ['x']}\n"
         "    - {question: 'b', expects: ['y']}\n",
         r"sample.yml #1 turn 2: unknown key\(s\) expects .*; sample.yml #1 turn 2: needs `expect` or `not`"),
        ("- language: en\n  tags: [about, en]\n  turns:\n    - {question: 'a', expect: ['x']}\n"
         "    - {question: 'b', not: ['(']}\n",
         r"sample.yml #1 turn 2: bad regex '\('"),
        ("- language: en\n  tags: [about, en]\n  expect: ['x']\n  turns:\n    - {question: 'a', expect: ['x']}\n"
         "    - {question: 'b', expect: ['y']}\n",
         r"sample.yml #1: a conversation's `expect`/`not` go under each turn"),
        ("- question: 'q'\n  language: en\n  tags: [about, en]\n  expect: ['x']\n  turns: []\n",
         r"sample.yml #1: has both `question` and `turns`"),
        ("- language: en\n  tags: [about, en]\n  expect: ['x']\n", r"sample.yml #1: needs a `question` or `turns`"),
        ("- {id: same, question: 'a', language: en, tags: [about, en], expect: ['x']}\n"
         "- {id: same, question: 'b', language: en, tags: [about, en], expect: ['x']}\n",
         r"case id 'same' is used twice"),
        ("- {id: 'no spaces please', question: 'a', language: en, tags: [about, en], expect: ['x']}\n",
         r"sample.yml #1: `id` must be"),
    ],
    ids=["one-turn", "turn-without-question", "typo-key", "bad-regex", "case-level-expect", "both", "neither",
         "duplicate-id", "bad-id"],
)
def test_malformed_conversation_cases_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CaseError, match=message):
        load_cases(_write(tmp_path, text))


def test_one_case_file_loads_on_its_own(tmp_path: Path) -> None:
    path = _write(tmp_path, CONVERSATIONS) / "sample.yml"
    assert [c.id for c in load_case_file(path, stem="e2e")][-1] == "e2e-005"


def test_each_turn_is_judged_on_its_own_reply_in_one_conversation(stand_in: StandIn, tmp_path: Path) -> None:
    cases = load_cases(_write(tmp_path, CONVERSATIONS))
    first = len(stand_in.received)
    results = {r.case.id: r for r in asyncio.run(run_cases(stand_in.url, cases, concurrency=3))}
    received = stand_in.received[first:]

    ordinals = results["ordinals"]
    assert ordinals.outcome == "passed" and [t.ok for t in ordinals.turns] == [True, True]
    assert ordinals.turns[1].reply.startswith("Renewable")  # the follow-up was understood in context

    wrong = results["wrong-second-turn"]
    assert wrong.outcome == "failed"
    assert [n for n, _ in wrong.failing_turns] == [2]
    assert wrong.turns[1].missing == ["logistic"] and wrong.turns[1].found == []
    # A turn after a failing one is still sent and judged; button titles count as part of the reply.
    assert wrong.turns[2].ok and "[Logistics] [Renewables]" in wrong.turns[2].reply

    broken = results["broken"]
    assert broken.outcome == "error" and "500" in (broken.error or "")
    assert [t.sent for t in broken.turns] == [True, False, False]
    assert [n for n, _ in broken.failing_turns] == [2, 3]

    assert results["finnish-known-miss"].outcome == "fixed"
    assert results["sample-005"].outcome == "passed" and len(results["sample-005"].turns) == 1

    # One sender per case, the same for all of a conversation's turns, and the turns in order.
    by_sender: dict[str, list[str]] = {}
    for sender, message in received:
        by_sender.setdefault(sender, []).append(message)
    assert len(by_sender) == len(cases)
    assert sorted(by_sender.values()) == sorted(
        [["what are the priorities?", "the second one"],
         ["what are the priorities?", "the last one", "which one?"],
         ["who is the project manager?", "break the server"],
         ["kuka on projektipäällikkö?", "entä numero?"],
         ["who is the project manager?"]]
    )


def test_reports_show_the_failing_turn(stand_in: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports"
    assert main(stand_in.url, _write(tmp_path, CONVERSATIONS), out, concurrency=2, progress=False) == 1
    printed = capsys.readouterr().out
    assert "FAILED wrong-second-turn (en) conversation of 3 turns" in printed
    assert "    turn 2/3 'the last one': missing ['logistic']" in printed
    assert "turn 3/3" not in printed.split("FAILED wrong-second-turn")[1].split("FAILED")[0]
    assert "turn 2/3 'break the server': ClientResponseError" in printed
    assert "turn 3/3 'the second one': not sent" in printed
    assert "conversations en: 1/3 passed, turns 5/8 passed" in printed
    assert "conversations fi: 1/1 passed, turns 2/2 passed" in printed

    suite = ET.parse(out / "junit.xml").getroot()
    cases = {tc.get("name"): tc for tc in suite.iter("testcase")}
    wrong = cases["wrong-second-turn: what are the priorities? → the last one → which one?"]
    failure = wrong.find("failure")
    assert failure is not None and failure.get("message") == "turn 2 of 3: reply does not match"
    assert "turn 1/3 passed" in (failure.text or "") and "turn 2/3 FAILED" in (failure.text or "")
    error = cases["broken: who is the project manager? → break the server → the second one"].find("error")
    assert error is not None and "turn 3/3 not sent" in (error.text or "")

    page = (out / "report.html").read_text(encoding="utf-8")
    assert "failing turn 2 of 3" in page and "failing turn 2, 3 of 3" in page
    assert "(not sent)" in page and "not sent: an earlier turn got no reply" in page


def test_short_follow_ups_may_be_training_examples_but_questions_may_not(tmp_path: Path) -> None:
    (tmp_path / "nlu.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: follow_up\n  examples: |\n    - the second one\n'
        "    - tell me more about the second one please\n    - what are the priorities\n",
        encoding="utf-8",
    )
    text = """
- id: stock
  language: en
  tags: [priorities, en]
  turns:
    - {question: "which priorities did the region choose?", expect: ['x']}
    - {question: "The second one!", expect: ['x']}
- id: long-copied
  language: en
  tags: [priorities, en]
  turns:
    - {question: "which priorities did the region choose?", expect: ['x']}
    - {question: "Tell me more about the second one, please", expect: ['x']}
- id: first-copied
  language: en
  tags: [priorities, en]
  turns:
    - {question: "What are the priorities?", expect: ['x']}
    - {question: "more", expect: ['x']}
"""
    cases = load_cases(_write(tmp_path, text))
    assert [c.id for c in overlapping(cases, tmp_path)] == ["long-copied", "first-copied"]


# ------------------------------------------------------------------------------------ the HTML report
class Node:
    """An element of a parsed page: enough of a DOM to test the report's structure with the standard library."""

    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        """Every element below this one, in document order, of a tag and/or a class."""
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if (tag is None or child.tag == tag) and (cls is None or cls in child.classes):
                    found.append(child)
                found += child.all(tag, cls)
        return found

    def one(self, tag: str | None = None, cls: str | None = None) -> Node:
        found = self.all(tag, cls)
        assert len(found) == 1, f"{len(found)} <{tag or '*'} class={cls}> in <{self.tag} {self.attrs}>"
        return found[0]


VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})


class PageParser(HTMLParser):

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", {}, None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag: str) -> None:
        assert self.current.tag == tag, f"</{tag}> closes <{self.current.tag}>"
        assert self.current.parent is not None
        self.current = self.current.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse_page(page: str) -> Node:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    assert parser.current is parser.root, "an element is not closed"
    return parser.root


# Text that would run as markup if a question, a reply, a pattern or a reason were not escaped.
HOSTILE = """
- id: markup-in-question
  question: "<img src=x onerror=alert(1)> who is the project manager?"
  language: en
  tags: [contact, en]
  expect: ['<i>never</i>']
  known_miss: "<b>markup</b> in a reason & more"
- id: markup-in-conversation
  language: fi
  tags: [about, fi, conversation]
  turns:
    - question: "show me html"
      expect: ['bold']
    - question: "</script><script>alert(2)</script>"
      expect: ['x']
"""


@pytest.fixture(scope="module")
def report(stand_in: StandIn, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Node]:
    """The report of the single, conversation and hostile cases against the stand-in: (page, parsed page)."""
    cases = tmp_path_factory.mktemp("report") / "cases"
    cases.mkdir()
    for name, text in (("singles", CASES), ("conversations", CONVERSATIONS), ("hostile", HOSTILE)):
        (cases / f"{name}.yml").write_text(text, encoding="utf-8")
    results = asyncio.run(run_cases(stand_in.url, load_cases(cases), concurrency=3))
    page = render(results, 1.5, stand_in.url, generated="2026-01-02 03:04")
    return page, parse_page(page)


def _article(root: Node, case_id: str) -> Node:
    return next(a for a in root.all("article", "case") if a.one(cls="case-id").text() == case_id)


def test_report_summary_is_a_table_row_per_topic_and_language(report: tuple[str, Node]) -> None:
    _, root = report
    table = root.one("table", "summary")
    assert table.one("caption").text() == "Cases by topic and language"
    note = next(p for p in root.all("p", "explain") if p.attrs.get("id") == table.attrs["aria-describedby"])
    assert note.text().startswith("The pass rate is the share of cases answered right")
    head = [th.text() for th in table.one("thead").all("th")]
    assert head == ["Topic", "Language", "Cases", "Passed", "Failed", "Known misses", "Pass rate"]
    assert all(th.attrs.get("scope") in ("col", "row") for th in table.all("th"))

    def cells(row: Node) -> list[str]:
        # The figures as read; the bar beside the rate is hidden from screen readers and has no text.
        return [" ".join(c.text().split()) for c in row.children if isinstance(c, Node)]

    rows = table.one("tbody").all("tr")
    assert [(r.attrs["data-topic"], r.attrs["data-language"]) for r in rows] == [
        ("about", "en"), ("about", "fi"), ("contact", "en"), ("contact", "fi"), ("out_of_scope", "en"),
        ("priorities", "en"),
    ]
    assert [cells(r) for r in rows] == [
        ["about", "English", "1", "1", "0", "0", "100%"],
        ["about", "Finnish", "1", "0", "1", "0", "0%"],
        ["contact", "English", "4", "2", "1 incl. 1 no reply", "1", "50%"],
        ["contact", "Finnish", "2", "2 incl. 2 fixed", "0", "0", "100%"],
        ["out_of_scope", "English", "1", "0", "0", "1", "0%"],
        ["priorities", "English", "4", "1", "3", "0", "25%"],
    ]
    assert [cells(r) for r in table.one("tfoot").all("tr")] == [
        ["All topics", "English", "10", "4", "4 incl. 1 no reply", "2", "40%"],
        ["All topics", "Finnish", "3", "2 incl. 2 fixed", "1", "0", "67%"],
        ["All topics", "All languages", "13", "6 incl. 2 fixed", "5 incl. 1 no reply", "2", "46%"],
    ]
    # The rows with a failure are marked; the bar's width is the rate, and the bar is not read out.
    assert [r.attrs["data-topic"] for r in rows if "has-failures" in r.classes] == ["about", "contact", "priorities"]
    bar = rows[2].one(cls="bar")
    assert bar.attrs["aria-hidden"] == "true" and bar.one(cls="fill").attrs["style"] == "width:50.0%"
    conversations = root.one("table", "conversations")
    assert [cells(r) for r in conversations.one("tbody").all("tr")] == [
        ["English", "1 of 3", "5 of 8"], ["Finnish", "1 of 2", "3 of 4"],
    ]


def test_report_shows_failures_then_known_misses_then_passes(report: tuple[str, Node]) -> None:
    _, root = report
    groups = root.all("section", "group")
    assert [(g.attrs["id"], g.one("h3").text()) for g in groups] == [
        ("failures", "Failures (5)"), ("known-misses", "Known misses (4)"), ("passes", "Passed (4)"),
    ]
    outcomes = [a.attrs["data-outcome"] for a in root.all("article", "case")]
    assert outcomes == ["failed"] * 4 + ["error"] + ["fixed"] * 2 + ["known_miss"] * 2 + ["passed"] * 4
    failures = [a.one(cls="case-id").text() for a in groups[0].all("article")]
    assert failures == ["markup-in-conversation", "singles-002", "singles-003", "wrong-second-turn", "broken"]
    known = _article(root, "singles-005")
    assert known.one("h4").text() == "Known miss singles-005"
    assert known.one("p", "note").text() == "Known miss: no contact in the stand-in's reply"
    fixed = _article(root, "finnish-known-miss")
    assert "now passes: remove its known_miss line" in fixed.one("p", "note").text()
    assert (fixed.attrs["data-topic"], fixed.attrs["data-language"]) == ("contact", "fi")
    # The run's verdict on top: failures in words, then every outcome counted.
    assert root.one("p", "verdict").text().startswith("5 cases failed. Pass rate 46% (6 of 13 answered right).")
    totals = [li.text() for li in root.one("ul", "totals").all("li")]
    assert totals == ["4 failed", "1 no reply", "2 fixed", "2 known misses", "4 passed"]


def test_report_shows_a_conversation_turn_by_turn(report: tuple[str, Node]) -> None:
    _, root = report
    wrong = _article(root, "wrong-second-turn")
    assert wrong.one("p", "conv-summary").text() == "Conversation of 3 turns: failing turn 2 of 3"
    turns = wrong.all("li", "turn")
    assert [t.attrs["data-turn"] for t in turns] == ["1", "2", "3"]
    assert [t.one(cls="badge").text() for t in turns] == ["Passed", "Failed", "Passed"]
    assert [t.one(cls="question").one("p").text() for t in turns] == [
        "what are the priorities?", "the last one", "which one?",
    ]
    assert "turn-failed" in turns[1].classes and turns[1].one("p", "turn-head").text().startswith("Turn 2 of 3")
    assert turns[1].one(cls="reply").one("p").text() == "Data economy, cyber security and gamification."
    assert [li.text() for li in turns[1].one("ul", "checks").all("li")] == ["✗ missing logistic"]
    assert [li.text() for li in turns[2].one("ul", "checks").all("li")] == [
        "✓ contains which one do you mean", "✓ contains Renewables",
    ]
    assert turns[2].one(cls="reply").one("p").text() == "Which one do you mean?\n[Logistics] [Renewables]"

    broken = [t for t in _article(root, "broken").all("li", "turn")]
    assert [t.one(cls="badge").text() for t in broken] == ["Passed", "No reply", "Not sent"]
    assert "no reply: ClientResponseError" in broken[1].one("ul", "checks").text()
    assert broken[2].one(cls="reply").one("p").text() == "(not sent)"
    assert broken[2].one("ul", "checks").text() == "not sent: an earlier turn got no reply"
    # A single question is one exchange, without turn numbers; a forbidden text found is named.
    single = _article(root, "singles-003")
    assert single.all("li", "turn") == [] and single.one(cls="question").one("p").text() == "is tourism a priority?"
    assert [li.text() for li in single.one("ul", "checks").all("li")] == [
        "✓ contains priorit", "✗ forbidden text present tourism is one of",
    ]
    # Finnish text is marked as Finnish for screen readers.
    finnish = _article(root, "singles-006")
    assert finnish.one(cls="question").one("p").attrs["lang"] == "fi"


def test_report_escapes_every_question_reply_pattern_and_reason(report: tuple[str, Node]) -> None:
    page, root = report
    assert "<script>alert" not in page and "<img" not in page and "<b>" not in page and "<i>never" not in page
    # Our one script (the filters) is the last element of the body and holds no text of a case.
    scripts = root.all("script")
    assert len(scripts) == 1 and "alert" not in scripts[0].text() and "Kymen" not in scripts[0].text()
    assert not [n for n in root.all() if any(name.startswith("on") for name in n.attrs)]
    marked = _article(root, "markup-in-question")
    assert marked.one(cls="question").one("p").text() == "<img src=x onerror=alert(1)> who is the project manager?"
    assert marked.one("p", "note").text() == "Known miss: <b>markup</b> in a reason & more"
    assert marked.one("ul", "checks").one("code").text() == "<i>never</i>"
    turns = _article(root, "markup-in-conversation").all("li", "turn")
    assert turns[0].one(cls="reply").one("p").text() == "<script>alert('x')</script> & <b>bold</b>"
    assert turns[1].one(cls="question").one("p").text() == "</script><script>alert(2)</script>"


def test_report_filters_are_labelled_and_hidden_until_the_script_runs(report: tuple[str, Node]) -> None:
    _, root = report
    form = root.one("form", "filters")
    assert "hidden" in form.attrs  # without JavaScript: no filters, every case shown
    labels = {label.attrs["for"]: label.text() for label in form.all("label")}
    selects = {s.attrs["id"]: [(o.attrs["value"], o.text()) for o in s.all("option")] for s in form.all("select")}
    assert labels == {"filter-topic": "Topic", "filter-language": "Language", "filter-outcome": "Outcome"}
    assert selects["filter-topic"] == [
        ("", "All topics"), ("about", "about (2)"), ("contact", "contact (6)"), ("out_of_scope", "out_of_scope (1)"),
        ("priorities", "priorities (4)"),
    ]
    assert selects["filter-language"] == [("", "All languages"), ("en", "English (10)"), ("fi", "Finnish (3)")]
    assert selects["filter-outcome"] == [
        ("", "All outcomes"), ("failed", "Failed (4)"), ("error", "No reply (1)"), ("fixed", "Fixed (2)"),
        ("known_miss", "Known miss (2)"), ("passed", "Passed (4)"),
    ]
    assert form.one(cls="status").attrs["role"] == "status"
    # The headings outline the page: one h1, then h2 sections, the case groups and the cases below them.
    assert [h.text() for h in root.all("h1")] == ["FAQ test report"]
    assert [h.text() for h in root.all("h2")] == ["Summary", "Cases"]
    assert len(root.all("h4")) == len(root.all("article", "case")) == 13
