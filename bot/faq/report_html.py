"""The FAQ report as one HTML file that opens from disk (`reports/faq/report.html`): a summary table by topic
and language with pass-rate bars, then the cases (failures first, then known misses, then passes), each
question with its reply and checks, a conversation turn by turn.

Filters by topic, language and outcome are a few lines of inline JavaScript: the file needs no network and
no other file, and without JavaScript the filters stay hidden and every case is shown. Every question,
reply, pattern and name from a case or a reply is HTML-escaped; nothing from a reply goes into the script."""

from __future__ import annotations

import html
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # runner.py imports this module: the types only, to keep the import one-way
    from bot.faq.runner import Result, TurnResult

# How an outcome is named on the page, and the order of the cases: failures first, then known misses (a
# fixed one first: its `known_miss` line is to be removed), then passes.
LABELS = {
    "failed": "Failed",
    "error": "No reply",
    "fixed": "Fixed",
    "known_miss": "Known miss",
    "passed": "Passed",
}
PLURALS = {"known_miss": "known misses"}
GROUPS = (
    ("failures", "Failures", ("failed", "error"), "No case failed."),
    ("known-misses", "Known misses", ("fixed", "known_miss"), "No case is marked as a known miss."),
    ("passes", "Passed", ("passed",), "No case passed."),
)
LANGUAGES = {"en": "English", "fi": "Finnish"}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def language_name(code: str) -> str:
    return LANGUAGES.get(code, code)


# ------------------------------------------------------------------------------------------ summary
@dataclass
class Tally:
    """One row of the summary. Passed counts fixed cases too, failed counts the ones that got no reply:
    the rate says how many questions got a right answer, so a known miss counts against it."""

    counts: Counter[str]

    @property
    def cases(self) -> int:
        return sum(self.counts.values())

    @property
    def passed(self) -> int:
        return self.counts["passed"] + self.counts["fixed"]

    @property
    def failed(self) -> int:
        return self.counts["failed"] + self.counts["error"]

    @property
    def known_misses(self) -> int:
        return self.counts["known_miss"]

    @property
    def rate(self) -> float | None:
        return 100 * self.passed / self.cases if self.cases else None


def tallies(results: list[Result]) -> tuple[list[tuple[str, str, Tally]], list[tuple[str, Tally]], Tally]:
    """(topic, language, tally) rows sorted by topic then language; a tally per language; the overall one."""
    groups: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    by_language: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        groups[(r.case.topic, r.case.language)][r.outcome] += 1
        by_language[r.case.language][r.outcome] += 1
    rows = [(topic, lang, Tally(counts)) for (topic, lang), counts in sorted(groups.items())]
    languages = [(lang, Tally(counts)) for lang, counts in sorted(by_language.items())]
    return rows, languages, Tally(Counter(r.outcome for r in results))


def _rate_cell(tally: Tally) -> str:
    """The pass rate in text (what a screen reader reads) beside a bar drawn by CSS (hidden from them)."""
    rate = tally.rate
    if rate is None:
        return '<td class="rate">–</td>'
    level = "good" if rate >= 90 else ("fair" if rate >= 75 else "poor")
    return (
        f'<td class="rate"><span class="bar" aria-hidden="true"><span class="fill {level}" '
        f'style="width:{rate:.1f}%"></span></span><span class="pct">{rate:.0f}%</span></td>'
    )


def _count_cells(tally: Tally) -> str:
    passed = f"{tally.passed}"
    if tally.counts["fixed"]:
        passed += f' <span class="aside">incl. {tally.counts["fixed"]} fixed</span>'
    failed = f"{tally.failed}"
    if tally.counts["error"]:
        failed += f' <span class="aside">incl. {tally.counts["error"]} no reply</span>'
    failed_class = "num alarm" if tally.failed else "num zero"
    known_class = "num" if tally.known_misses else "num zero"
    return (
        f'<td class="num">{tally.cases}</td><td class="num{"" if tally.passed else " zero"}">{passed}</td>'
        f'<td class="{failed_class}">{failed}</td><td class="{known_class}">{tally.known_misses}</td>'
        + _rate_cell(tally)
    )


def summary_html(results: list[Result]) -> str:
    rows, languages, total = tallies(results)
    if not results:
        return '<p>No cases were run.</p>'
    body = []
    for topic, lang, tally in rows:
        marked = ' class="has-failures"' if tally.failed else ""
        body.append(
            f'<tr data-topic="{_e(topic)}" data-language="{_e(lang)}"{marked}><th scope="row">{_e(topic)}</th>'
            f'<td>{_e(language_name(lang))}</td>{_count_cells(tally)}</tr>'
        )
    foot = [
        f'<tr class="subtotal" data-language="{_e(lang)}"><th scope="row">All topics</th>'
        f"<td>{_e(language_name(lang))}</td>{_count_cells(tally)}</tr>"
        for lang, tally in languages
    ]
    foot.append(f'<tr class="total"><th scope="row">All topics</th><td>All languages</td>{_count_cells(total)}</tr>')
    return (
        '<p id="summary-note" class="explain">The pass rate is the share of cases answered right: a known miss '
        "counts as not right, a fixed one (a known miss that now passes) as right.</p>"
        '<div class="scroll" role="region" aria-labelledby="summary-caption" tabindex="0">'
        '<table class="summary" aria-describedby="summary-note"><caption id="summary-caption">Cases by topic and '
        "language</caption>"
        '<thead><tr><th scope="col">Topic</th><th scope="col">Language</th><th scope="col" class="num">Cases</th>'
        '<th scope="col" class="num">Passed</th><th scope="col" class="num">Failed</th>'
        '<th scope="col" class="num">Known misses</th><th scope="col">Pass rate</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody><tfoot>{''.join(foot)}</tfoot></table></div>"
        + _conversations_html(results)
    )


def _conversations_html(results: list[Result]) -> str:
    """Per language: conversation cases passed of all, and their turns passed of all."""
    rows = []
    for lang in sorted({r.case.language for r in results if r.case.is_conversation}):
        mine = [r for r in results if r.case.is_conversation and r.case.language == lang]
        turns = [t for r in mine for t in r.turns]
        rows.append(
            f'<tr><th scope="row">{_e(language_name(lang))}</th><td class="num">{sum(r.ok for r in mine)} of '
            f'{len(mine)}</td><td class="num">{sum(t.ok for t in turns)} of {len(turns)}</td></tr>'
        )
    if not rows:
        return ""
    return (
        '<h3 id="conversations-heading">Conversations</h3><p class="explain">A conversation passes when every '
        "turn passes; a turn is judged on its own reply.</p>"
        '<div class="scroll" role="region" aria-labelledby="conversations-heading" tabindex="0">'
        '<table class="conversations"><thead><tr>'
        '<th scope="col">Language</th><th scope="col" class="num">Conversations passed</th>'
        f'<th scope="col" class="num">Turns passed</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    )


# -------------------------------------------------------------------------------------------- cases
def turn_state(turn: TurnResult) -> str:
    """passed, failed, error (no reply) or not-sent (after a turn that got no reply)."""
    if turn.error is not None:
        return "error"
    if not turn.sent:
        return "not-sent"
    return "passed" if turn.ok else "failed"


TURN_LABELS = {"passed": "Passed", "failed": "Failed", "error": "No reply", "not-sent": "Not sent"}


def checks_html(turn: TurnResult) -> str:
    """Each expectation of a turn with its result, in words as well as marks (colour is not the only cue)."""
    items = [f'<li class="ok"><span aria-hidden="true">✓ </span>contains <code>{_e(p)}</code></li>'
             for p in turn.found]
    items += [f'<li class="bad"><span aria-hidden="true">✗ </span>missing <code>{_e(p)}</code></li>'
              for p in turn.missing]
    items += [f'<li class="bad"><span aria-hidden="true">✗ </span>forbidden text present <code>{_e(p)}</code></li>'
              for p in turn.forbidden]
    if turn.sent:
        items += [f'<li class="ok"><span aria-hidden="true">✓ </span>does not contain <code>{_e(p)}</code></li>'
                  for p in turn.turn.forbid if p not in turn.forbidden]
    if turn.error is not None:
        items.append(f'<li class="bad"><span aria-hidden="true">✗ </span>no reply: {_e(turn.error)}</li>')
    elif not turn.sent:
        items.append('<li class="bad">not sent: an earlier turn got no reply</li>')
    return f'<ul class="checks" aria-label="Checks">{"".join(items)}</ul>'


def _exchange(turn: TurnResult, lang: str) -> str:
    """A question and the reply to it, as two labelled messages."""
    if turn.reply:
        reply = f'<p class="text" lang="{_e(lang)}">{_e(turn.reply)}</p>'
    elif turn.error is not None:
        reply = '<p class="text absent">(no reply)</p>'
    elif turn.sent:
        reply = '<p class="text absent">(empty reply)</p>'
    else:
        reply = '<p class="text absent">(not sent)</p>'
    return (
        f'<div class="msg question"><span class="who">Question</span>'
        f'<p class="text" lang="{_e(lang)}">{_e(turn.turn.question)}</p></div>'
        f'<div class="msg reply"><span class="who">Reply</span>{reply}</div>'
    )


def _case_html(result: Result, number: int) -> str:
    r, case = result, result.case
    anchor = f"case-{number}"
    shown_tags = [t for t in case.tags if t not in (case.topic, case.language)]
    meta = [_e(case.topic), _e(language_name(case.language))]
    if case.file:
        meta.append(f"<code>{_e(case.file)}</code>")
    if shown_tags:
        meta.append("tags: " + _e(", ".join(shown_tags)))
    meta.append(f"{r.latency:.2f} s")
    notes = ""
    if r.outcome == "fixed":
        notes = (f'<p class="note">Marked as a known miss but now passes: remove its <code>known_miss</code> line '
                 f"(it said: {_e(case.known_miss)}).</p>")
    elif case.known_miss:
        notes = f'<p class="note">Known miss: {_e(case.known_miss)}</p>'
    if case.is_conversation:
        failing = [str(n) for n, _ in r.failing_turns]
        summary = f"Conversation of {len(r.turns)} turns"
        if failing:
            summary += f': <strong class="alarm">failing turn {_e(", ".join(failing))} of {len(r.turns)}</strong>'
        turns = []
        for n, t in enumerate(r.turns, 1):
            state = turn_state(t)
            latency = f' <span class="aside">{t.latency:.2f} s</span>' if t.sent else ""
            turns.append(
                f'<li class="turn turn-{state}" data-turn="{n}"><p class="turn-head"><span class="turn-no">Turn {n} '
                f'of {len(r.turns)}</span> <span class="badge {state}">{TURN_LABELS[state]}</span>{latency}</p>'
                f"{_exchange(t, case.language)}{checks_html(t)}</li>"
            )
        content = f'<p class="conv-summary">{summary}</p><ol class="turns">{"".join(turns)}</ol>'
    else:
        content = f'<div class="single">{_exchange(r.turns[0], case.language)}{checks_html(r.turns[0])}</div>'
    return (
        f'<article class="case {r.outcome}" id="{anchor}" data-topic="{_e(case.topic)}" '
        f'data-language="{_e(case.language)}" data-outcome="{r.outcome}" aria-labelledby="{anchor}-h">'
        f'<h4 id="{anchor}-h"><span class="badge {r.outcome}">{LABELS[r.outcome]}</span> '
        f'<span class="case-id">{_e(case.id)}</span></h4><p class="meta">{" · ".join(meta)}</p>{notes}{content}'
        "</article>"
    )


def ordered(results: Iterable[Result]) -> list[Result]:
    """Failures first (failed, then no reply), then known misses (fixed, then still missing), then passes."""
    rank = {outcome: n for n, outcome in enumerate(LABELS)}
    return sorted(results, key=lambda r: (rank[r.outcome], r.case.id))


def cases_html(results: list[Result]) -> str:
    sections = []
    number = 0
    for key, title, outcomes, none in GROUPS:
        mine = ordered(r for r in results if r.outcome in outcomes)
        articles = []
        for r in mine:
            number += 1
            articles.append(_case_html(r, number))
        inner = "".join(articles) if articles else f'<p class="none">{none}</p>'
        sections.append(
            f'<section class="group" id="{key}" data-cases="{len(mine)}" aria-labelledby="{key}-h">'
            f'<h3 id="{key}-h">{title} ({len(mine)})</h3>{inner}</section>'
        )
    return "".join(sections)


# ------------------------------------------------------------------------------------------ filters
def _options(label: str, values: list[tuple[str, str, int]]) -> str:
    options = f'<option value="">{_e(label)}</option>'
    options += "".join(f'<option value="{_e(v)}">{_e(text)} ({n})</option>' for v, text, n in values)
    return options


def filters_html(results: list[Result]) -> str:
    """The filter form, hidden until the script shows it: without JavaScript every case stays in view."""
    topics = Counter(r.case.topic for r in results)
    langs = Counter(r.case.language for r in results)
    outcomes = Counter(r.outcome for r in results)
    topic_options = _options("All topics", [(t, t, n) for t, n in sorted(topics.items())])
    lang_options = _options("All languages", [(c, language_name(c), n) for c, n in sorted(langs.items())])
    outcome_options = _options("All outcomes", [(o, label, outcomes[o]) for o, label in LABELS.items() if outcomes[o]])
    return (
        '<form id="filters" class="filters" hidden aria-labelledby="filters-h"><h3 id="filters-h" class="vh">'
        'Filter the cases</h3><div class="field"><label for="filter-topic">Topic</label>'
        f'<select id="filter-topic" name="topic">{topic_options}</select></div>'
        '<div class="field"><label for="filter-language">Language</label>'
        f'<select id="filter-language" name="language">{lang_options}</select></div>'
        '<div class="field"><label for="filter-outcome">Outcome</label>'
        f'<select id="filter-outcome" name="outcome">{outcome_options}</select></div>'
        '<button type="reset">Show all</button>'
        '<p id="filter-status" class="status" role="status" aria-live="polite"></p></form>'
    )


# No data from a case or a reply is in here: the script reads the data-* attributes of the page.
_SCRIPT = """(function () {
  var form = document.getElementById('filters');
  if (!form || !document.querySelectorAll) return;
  var cases = Array.prototype.slice.call(document.querySelectorAll('article.case'));
  var groups = Array.prototype.slice.call(document.querySelectorAll('section.group'));
  var status = document.getElementById('filter-status');
  function apply() {
    var topic = form.elements.topic.value, language = form.elements.language.value;
    var outcome = form.elements.outcome.value, shown = 0;
    cases.forEach(function (c) {
      var match = (!topic || c.getAttribute('data-topic') === topic) &&
        (!language || c.getAttribute('data-language') === language) &&
        (!outcome || c.getAttribute('data-outcome') === outcome);
      c.hidden = !match;
      if (match) shown += 1;
    });
    var filtering = Boolean(topic || language || outcome);
    groups.forEach(function (g) {
      g.hidden = filtering && !g.querySelector('article.case:not([hidden])');
    });
    status.textContent = !filtering ? 'Showing all ' + cases.length + ' cases.' :
      shown ? 'Showing ' + shown + ' of ' + cases.length + ' cases.' : 'No case matches these filters.';
  }
  form.addEventListener('change', apply);
  form.addEventListener('submit', function (event) { event.preventDefault(); });
  form.addEventListener('reset', function () { window.setTimeout(apply, 0); });
  form.hidden = false;
  apply();
})();"""

# Colours: text and badges keep a contrast of at least 4.5:1 (WCAG AA); the bars are decoration beside the
# figure. `[hidden]` wins over the display of the filtered elements.
_CSS = """*{box-sizing:border-box}[hidden]{display:none!important}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#fff;
line-height:1.45}main{max-width:76rem;margin:0 auto;padding:1.5rem 1rem 3rem}
h1{font-size:1.7rem;margin:0 0 .3rem}h2{font-size:1.35rem;margin:2rem 0 .6rem;border-bottom:2px solid #d0d7de;
padding-bottom:.2rem}h3{font-size:1.1rem;margin:1.5rem 0 .5rem}h4{font-size:1rem;margin:0 0 .2rem}
a{color:#0550ae}code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em;
background:#f3f4f6;padding:0 .2em;border-radius:3px;overflow-wrap:anywhere}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.run{color:#57606a;margin:0}.explain{color:#57606a;margin:.2rem 0}.verdict{font-size:1.1rem;margin:.8rem 0 .4rem}
.totals{list-style:none;padding:0;margin:.4rem 0;display:flex;flex-wrap:wrap;gap:.4rem}
.jump{margin:.8rem 0;display:flex;flex-wrap:wrap;gap:.2rem 1.2rem}.jump a{display:inline-block;padding:.15rem 0;
min-height:24px}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;min-width:36rem;width:100%}caption{text-align:left;color:#57606a;padding:.3rem 0;
caption-side:top}th,td{border-bottom:1px solid #d0d7de;padding:.35rem .6rem;text-align:left;vertical-align:middle}
thead th{border-bottom:2px solid #57606a;font-weight:600}tbody th{font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.zero{color:#57606a}
.alarm{color:#b42318;font-weight:700}tr.has-failures{background:#fff5f5}
table.conversations{width:auto}
tfoot tr.subtotal th,tfoot tr.subtotal td{border-top:2px solid #57606a}tfoot tr.total{font-weight:700}
tfoot tr.subtotal + tr.subtotal th,tfoot tr.subtotal + tr.subtotal td{border-top:1px solid #d0d7de}
.rate{white-space:nowrap;min-width:12rem}.bar{display:inline-block;vertical-align:middle;width:8rem;height:.8rem;
background:#eaeef2;border:1px solid #6e7781;border-radius:2px;margin-right:.5rem;overflow:hidden}
.fill{display:block;height:100%}.fill.good{background:#1a7f37}.fill.fair{background:#9a6700}
.fill.poor{background:#b42318}.pct{font-variant-numeric:tabular-nums;display:inline-block;min-width:2.8rem;
text-align:right}.aside{color:#57606a;font-size:.85em;font-weight:400}
.badge{display:inline-block;font-size:.8rem;font-weight:700;padding:.05rem .45rem;border-radius:999px;
border:1px solid transparent;white-space:nowrap;vertical-align:.05em}
.badge.failed{background:#b42318;color:#fff}.badge.error{background:#7a271a;color:#fff}
.badge.known_miss{background:#fff1c2;color:#5c3d00;border-color:#d4a72c}
.badge.fixed{background:#ddf4ff;color:#0a3069;border-color:#54aeff}
.badge.passed{background:#dafbe1;color:#0f5323;border-color:#4ac26b}
.badge.zero{background:#fff;color:#57606a;border-color:#8c959f}
.badge.not-sent{background:#eaeef2;color:#424a53;border-color:#8c959f}
.filters{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;
padding:.6rem .8rem;display:flex;flex-wrap:wrap;align-items:flex-end;gap:.6rem 1rem;margin:.6rem 0 1rem}
.field{display:flex;flex-direction:column}.field label{font-weight:600;font-size:.9rem}
select,button{font:inherit;padding:.25rem .4rem;border:1px solid #6e7781;border-radius:4px;background:#fff;
color:#1f2328}button{cursor:pointer}select:focus-visible,button:focus-visible,.scroll:focus-visible,a:focus-visible{
outline:3px solid #0969da;outline-offset:2px}.status{margin:0 0 .3rem;color:#424a53}
@media (min-width:40rem){.filters{position:sticky;top:0;z-index:1}.group,.case{scroll-margin-top:6rem}}
.case{border:1px solid #d0d7de;border-left:6px solid #8c959f;border-radius:6px;padding:.7rem .9rem;
margin:0 0 .8rem}.case.failed{border-left-color:#b42318}.case.error{border-left-color:#7a271a}
.case.known_miss{border-left-color:#bf8700}.case.fixed{border-left-color:#0969da}
.case.passed{border-left-color:#1a7f37}.case-id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
font-size:.95em;overflow-wrap:anywhere}
.meta{color:#57606a;font-size:.9rem;margin:0 0 .4rem}.note{margin:.3rem 0 .5rem;padding:.3rem .5rem;
background:#fff8e1;border-left:3px solid #bf8700}.conv-summary{margin:.2rem 0 .4rem}
.turns{list-style:none;padding:0;margin:0}.turn{border-top:1px dashed #d0d7de;padding:.5rem 0 .4rem .6rem;
border-left:4px solid transparent}.turn:first-child{border-top:0}
.turn-failed,.turn-error{border-left-color:#b42318;background:#fff5f5}
.turn-head{margin:0 0 .3rem;font-weight:600}
.msg{display:grid;grid-template-columns:5.5rem minmax(0,1fr);gap:.6rem;margin:.15rem 0}
.who{font-size:.8rem;font-weight:700;text-transform:uppercase;letter-spacing:.03em;color:#57606a;padding-top:.15rem}
.text{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}.question .text{font-weight:600}
.reply .text{background:#f6f8fa;border-radius:6px;padding:.3rem .5rem}.absent{color:#57606a;font-style:italic}
.checks{list-style:none;margin:.35rem 0 0 6.1rem;padding:0;font-size:.92rem}.checks li{margin:.1rem 0}
.checks .ok{color:#116329}.checks .bad{color:#b42318;font-weight:600}.none{color:#57606a}
@media (max-width:40rem){.msg{grid-template-columns:1fr;gap:.1rem}.checks{margin-left:0}
main{padding:1rem .6rem 2rem}.rate{min-width:0}.bar{width:4rem}}
@media print{.filters{display:none}.case{break-inside:avoid}}"""


def render(results: list[Result], seconds: float, url: str, generated: str | None = None) -> str:
    """The whole page."""
    _, _, total = tallies(results)
    counts = Counter(r.outcome for r in results)
    generated = generated or time.strftime("%Y-%m-%d %H:%M")
    failing = counts["failed"] + counts["error"]
    if failing:
        verdict = f'<strong class="alarm">{failing} case{"s" if failing != 1 else ""} failed.</strong>'
    elif results:
        verdict = "<strong>No case failed.</strong>"
    else:
        verdict = "<strong>No cases were run.</strong>"
    if total.rate is not None:
        verdict += f" Pass rate {total.rate:.0f}% ({total.passed} of {total.cases} answered right)."
    if counts["fixed"]:
        verdict += (f" {counts['fixed']} known miss{'es' if counts['fixed'] != 1 else ''} now "
                    f"pass{'' if counts['fixed'] != 1 else 'es'}: remove the <code>known_miss</code> line.")
    totals = "".join(
        f'<li><span class="badge {outcome if counts[outcome] else "zero"}">{counts[outcome]} '
        f"{_e(label.lower() if counts[outcome] == 1 else PLURALS.get(outcome, label.lower()))}</span></li>"
        for outcome, label in LABELS.items()
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>FAQ test report: RIS3 assistant</title>"
        f"<style>{_CSS}</style></head><body><main><h1>FAQ test report</h1>"
        f'<p class="run">{len(results)} cases against {_e(url)} in {seconds:.1f} s, {_e(generated)}</p>'
        f'<p class="verdict">{verdict}</p><ul class="totals" aria-label="Cases by outcome">{totals}</ul>'
        '<nav class="jump" aria-label="Sections"><a href="#summary-h">Summary</a><a href="#failures">Failures</a>'
        '<a href="#known-misses">Known misses</a><a href="#passes">Passed</a></nav>'
        f'<section aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2>{summary_html(results)}</section>'
        f'<section aria-labelledby="cases-h"><h2 id="cases-h">Cases</h2>{filters_html(results)}'
        f"{cases_html(results)}</section></main><script>{_SCRIPT}</script></body></html>"
    )


def write_html(results: list[Result], path: Path, seconds: float, url: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(results, seconds, url), encoding="utf-8")
