"""Keeping the knowledge current: a new version's text (pasted, saved HTML, PDF with pages), its differences,
the facts it leaves stale, publishing it (those facts withheld, the bot saying the source changed) and a fact
fixed with the build's checks (bot/knowledge/extract.py, versions.py, fact_edit.py, replies.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.knowledge.extract import ExtractError, extract
from bot.knowledge.fact_edit import FactRefused, plan_fact, raw_facts
from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.replies import contact_text, fact_reply
from bot.knowledge.store import load_knowledge
from bot.knowledge.versions import (
    UploadStore,
    VersionError,
    current_version,
    diff_lines,
    plan_publish,
    plan_release,
    stale_facts,
    versions,
)
from bot.settings import PROJECT_ROOT
from tests.pdf_maker import make_pdf

OLD, NEW = "+358 44 747 8512", "+358 40 123 4567"


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", target, ignore=shutil.ignore_patterns("index", "drafts", ".*"))
    return target


def write(files: dict[Path, tuple[bytes | None, str]]) -> None:
    for path, (_, content) in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


def publish(knowledge_dir: Path, text: str, fmt: str = "text", **options: str) -> list[str]:
    knowledge = load_knowledge(knowledge_dir)
    extracted = extract(fmt, text if fmt != "pdf" else text.encode())
    store = UploadStore(knowledge_dir)
    upload_id = store.save("ris3-page", current_version(knowledge, "ris3-page").number, extracted, "editor")
    publication = plan_publish(knowledge_dir, store.load(upload_id) or {}, "editor", **options)
    write(publication.files)
    return [s.fact for s in publication.withheld]


def index_of(knowledge_dir: Path) -> KnowledgeIndex:
    return KnowledgeIndex(load_knowledge(knowledge_dir), {}, [], None, {})  # type: ignore[arg-type]


# --- extraction ------------------------------------------------------------------------------------------------------


def test_html_keeps_the_content_and_drops_navigation_scripts_and_not_content_lines() -> None:
    page = (
        "<html><head><title>x</title><style>p{}</style></head><body><header>Site header</header>"
        "<nav><ul><li>Etusivu</li></ul></nav><script>var a = 1;</script>"
        "<main><h1>Kymenlaakso</h1><p>GSM +358 40 123 4567, more &amp; more</p><p>Jaa artikkeli</p></main>"
        "<footer>Footer text</footer></body></html>"
    )
    text = extract("html", page.encode(), ("Jaa artikkeli",)).text
    assert "GSM +358 40 123 4567, more & more" in text and "Kymenlaakso" in text
    for gone in ("Site header", "Etusivu", "var a", "Footer text", "Jaa artikkeli", "p{}"):
        assert gone not in text


def test_a_pdf_gives_its_text_and_where_each_page_starts() -> None:
    extracted = extract("pdf", make_pdf([["Page one text"], ["The manager: GSM " + NEW]]))
    assert extracted.format == "pdf" and len(extracted.pages) == 2
    second = extracted.text[extracted.pages[1]:]
    assert "GSM " + NEW in second and "Page one" not in second


@pytest.mark.parametrize(
    ("fmt", "data", "reason"),
    [
        ("pdf", make_pdf([[]]), "no text layer"),
        ("pdf", b"not a pdf at all", "not a PDF"),
        ("pdf", b"%PDF-1.4\n garbage", "cannot be read"),
        ("text", b"\x00\x01\x02binary", "binary"),
        ("text", b"\xff\xfe\xfa", "not UTF-8"),
        ("text", make_pdf([["x"]]), "PDF file"),
        ("text", b"   \n  ", "no text"),
        ("html", b"just words, no markup", "no HTML elements"),
        ("rtf", b"{\\rtf1}", "format must be"),
    ],
)
def test_what_is_not_what_it_says_is_refused_with_the_reason(fmt: str, data: bytes, reason: str) -> None:
    with pytest.raises(ExtractError, match=reason):
        extract(fmt, data)


# --- differences and stale facts -----------------------------------------------------------------------------------


def test_the_diff_shows_the_changed_lines_with_context() -> None:
    diff = diff_lines("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nD\ne\nf\ng\nh\n", context=1)
    assert [d["op"] for d in diff] == ["same", "removed", "added", "same"]
    assert diff[1]["line"] == "d" and diff[2]["line"] == "D"


def test_the_facts_whose_quotes_are_gone_are_stale(knowledge_dir: Path) -> None:
    knowledge = load_knowledge(knowledge_dir)
    text = knowledge.sources["ris3-page"].text
    assert stale_facts(knowledge, "ris3-page", text) == []
    stale = {s.fact: s.missing for s in stale_facts(knowledge, "ris3-page", text.replace(OLD, NEW))}
    assert "contact_project_manager" in stale and stale["contact_project_manager"] == ("GSM " + OLD,)
    assert "about_what" not in stale


# --- publishing ------------------------------------------------------------------------------------------------------


def test_publishing_keeps_the_versions_and_withholds_the_stale_facts(knowledge_dir: Path) -> None:
    before = load_knowledge(knowledge_dir)
    withheld = publish(knowledge_dir, before.sources["ris3-page"].text.replace(OLD, NEW))
    assert "contact_project_manager" in withheld
    after = load_knowledge(knowledge_dir)
    assert after.sources["ris3-page"].path == knowledge_dir / "sources" / "ris3-page" / "2.txt"
    listed = versions(after, "ris3-page")
    assert [v.number for v in listed] == [1, 2] and listed[1].published_by == "editor" and listed[1].published_at
    assert (knowledge_dir / listed[0].file).read_text(encoding="utf-8") == before.sources["ris3-page"].text
    assert "no longer has" in after.facts["contact_project_manager"].withheld
    index = index_of(knowledge_dir)
    reply = fact_reply(index, "contact_project_manager", "en")
    assert reply.response == "utter_fact_withheld" and not reply.answered
    assert OLD not in " ".join(reply.variables.values()) and OLD not in contact_text(index, "fi")
    assert fact_reply(index, "about_what", "en").answered


def test_a_version_without_the_cited_date_is_refused_unless_the_new_date_is_given(knowledge_dir: Path) -> None:
    text = load_knowledge(knowledge_dir).sources["ris3-page"].text.replace("12.01.2021", "03.02.2026")
    with pytest.raises(VersionError, match="update date"):
        publish(knowledge_dir, text)
    publish(knowledge_dir, text, updated="03.02.2026")
    assert load_knowledge(knowledge_dir).sources["ris3-page"].updated == "03.02.2026"


def test_an_upload_compared_with_an_older_version_is_refused(knowledge_dir: Path) -> None:
    text = load_knowledge(knowledge_dir).sources["ris3-page"].text
    store = UploadStore(knowledge_dir)
    stale_upload = store.save("ris3-page", 1, extract("text", text + "\nOne more line.\n"), "editor")
    publish(knowledge_dir, text + "\nAnother line.\n")
    with pytest.raises(VersionError, match="upload it again"):
        plan_publish(knowledge_dir, store.load(stale_upload) or {}, "editor")


def test_confirming_needs_the_quotes_and_fixing_states_the_fact_again(knowledge_dir: Path) -> None:
    publish(knowledge_dir, load_knowledge(knowledge_dir).sources["ris3-page"].text.replace(OLD, NEW))
    with pytest.raises(VersionError, match="cannot be confirmed"):
        plan_release(knowledge_dir, "contact_project_manager")
    given = raw_facts(knowledge_dir)["contact_project_manager"]
    given["text"] = {lang: text.replace(OLD, NEW) for lang, text in given["text"].items()}
    given["quotes"] = [q for q in given["quotes"] if OLD not in q["text"]] + [{"text": "GSM " + NEW}]
    files, _ = plan_fact(knowledge_dir, "contact_project_manager", given, create=False)
    write(files)
    fixed = load_knowledge(knowledge_dir).facts["contact_project_manager"]
    assert not fixed.withheld and NEW in fixed.text["en"]
    reply = fact_reply(index_of(knowledge_dir), "contact_project_manager", "en")
    assert reply.answered and NEW in reply.variables["answer"]


def test_a_fact_is_refused_before_anything_is_written(knowledge_dir: Path) -> None:
    facts = (knowledge_dir / "facts.yml").read_bytes()
    given = raw_facts(knowledge_dir)["contact_project_manager"]
    with pytest.raises(FactRefused, match="quote not found"):
        plan_fact(knowledge_dir, "contact_project_manager", {**given, "quotes": ["words the page never had"]}, False)
    with pytest.raises(FactRefused, match="translated"):
        plan_fact(knowledge_dir, "contact_project_manager", {**given, "translated": []}, False)
    with pytest.raises(FactRefused, match="exists already"):
        plan_fact(knowledge_dir, "contact_project_manager", given, True)
    with pytest.raises(FactRefused, match="topic"):
        plan_fact(knowledge_dir, "brand_new", {**given, "topic": "weather"}, True)
    assert (knowledge_dir / "facts.yml").read_bytes() == facts


def test_a_new_fact_is_appended_and_only_it_changes(knowledge_dir: Path) -> None:
    given = {"topic": "contact", "title": {"en": "The phone"}, "text": {"en": "Phone " + OLD + "."},
             "keys": {"en": ["what is the phone number"]}, "quotes": ["GSM " + OLD]}
    before = (knowledge_dir / "facts.yml").read_text(encoding="utf-8")
    files, _ = plan_fact(knowledge_dir, "contact_phone_only", given, create=True)
    write(files)
    after = (knowledge_dir / "facts.yml").read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n")) and "contact_phone_only" in load_knowledge(knowledge_dir).facts


def test_a_pdf_source_is_cited_with_the_page_of_the_quote(knowledge_dir: Path) -> None:
    text = load_knowledge(knowledge_dir).sources["ris3-page"].text
    lines = [line for line in text.splitlines() if line.strip()]
    half = len(lines) // 2
    pdf = make_pdf([lines[:half], lines[half:]])
    knowledge = load_knowledge(knowledge_dir)
    store = UploadStore(knowledge_dir)
    extracted = extract("pdf", pdf)
    upload = store.save("ris3-page", current_version(knowledge, "ris3-page").number, extracted, "editor")
    publication = plan_publish(knowledge_dir, store.load(upload) or {}, "editor")
    write(publication.files)
    source = load_knowledge(knowledge_dir).sources["ris3-page"]
    assert source.format == "pdf" and len(source.pages) == 2
    index = index_of(knowledge_dir)
    fact = next(f for f in index.facts.values() if not f.withheld and f.id.startswith("contact_project_manager"))
    expected = source.page_of(fact.quotes[-1].text)
    reply = fact_reply(index, fact.id, "en")
    first_page = source.page_of(fact.quotes[0].text)
    assert reply.answered and expected and reply.variables["source"].endswith(f"p. {first_page}")
