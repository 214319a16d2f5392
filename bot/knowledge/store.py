"""Loading the knowledge files and checking every fact against the published sources."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.knowledge.text import fold

LANGUAGES = ("en", "fi")
TOPICS = ("about", "priorities", "timeline", "project", "contact", "brochure", "publisher")
FACT_KINDS = ("answer", "not_in_source")


class KnowledgeError(Exception):
    """The knowledge files are inconsistent; the message names the fact or file at fault."""


@dataclass(frozen=True)
class Document:
    """A file the source offers for download (the brochure), named as the source names it."""

    id: str
    name: str
    title: str
    # Where it can be downloaded; empty until known (an address is never guessed).
    url: str = ""


@dataclass(frozen=True)
class Source:
    id: str
    path: Path
    lang: str
    title: str
    updated: str
    publisher: str
    text: str
    not_content: tuple[str, ...] = ()
    # The published page's own address, linked under the answers that cite it; empty until known.
    url: str = ""
    documents: tuple[Document, ...] = ()
    # The title in other languages, only where the source itself gives one (checked against its text).
    titles: tuple[tuple[str, str], ...] = ()  # (language, title) pairs: a frozen dataclass stays hashable
    # How the published version was given (text, html, pdf) and, for a PDF, where each page starts in `text`
    # (character offsets, from knowledge/sources/<id>/versions.yml): an answer cites the page of its quote.
    format: str = "text"
    pages: tuple[int, ...] = ()

    def page_of(self, quote: str) -> int | None:
        """The page (from 1) of a PDF source on which the quote stands; None for other sources or when not found."""
        if not self.pages:
            return None
        wanted = fold(quote)
        bounds = [*self.pages, len(self.text)]
        for number in range(len(self.pages)):
            if wanted in fold(self.text[bounds[number]:bounds[number + 1]]):
                return number + 1
        # A quote across a page break: the page where its first words stand.
        head = " ".join(wanted.split()[:4])
        for number in range(len(self.pages)):
            if head and head in fold(self.text[bounds[number]:bounds[number + 1]]):
                return number + 1
        return None

    @property
    def citation(self) -> str:
        """How an answer cites this source: title (publisher, date)."""
        return f"{self.title} ({self.publisher}, {self.updated})"

    def citation_in(self, lang: str) -> str:
        """The citation under an answer in `lang`: the title in that language where the source gives one;
        otherwise the page's own title, said to be in the page's language (never a title made up here)."""
        title = dict(self.titles).get(lang) or (self.title if lang == self.lang else "")
        if title:
            return f"{title} ({self.publisher}, {self.updated})"
        note = FOREIGN_TITLE.get(lang, {}).get(self.lang)
        if note is None:
            return self.citation
        return note.format(title=self.title, publisher=self.publisher, updated=self.updated)


# A source's title cited under an answer in another language: (answer's language -> source's language -> form).
FOREIGN_TITLE = {
    "fi": {"en": "sivu »{title}« (englanninkielinen otsikko; {publisher}, {updated})"},
    "en": {"fi": "the page “{title}” (title in Finnish; {publisher}, {updated})"},
}


@dataclass(frozen=True)
class Quote:
    text: str
    source: str
    lang: str


@dataclass(frozen=True)
class Fact:
    id: str
    topic: str
    kind: str
    title: dict[str, str]
    text: dict[str, str]
    keys: dict[str, list[str]]
    quotes: tuple[Quote, ...]
    follow_ups: tuple[str, ...] = ()
    # The fact that lists its whole topic; it answers "is X one of them?" when X is not named.
    overview: bool = False
    # Languages whose text translates the quoted source rather than restating it in its own language.
    translated: tuple[str, ...] = ()
    # Documents (ids from sources.yml) the answer speaks of; linked under it when their address is known.
    documents: tuple[str, ...] = ()
    # The facts this one's text enumerates, in the order it gives them: "the second one" after it.
    lists: tuple[str, ...] = ()
    # The time the fact speaks of (first and last day), for "what happened in autumn 2020?".
    when: tuple[dt.date, dt.date] | None = None
    # What "it"/"se" refers to after this answer, per language; the topic's subject when unset.
    subject: dict[str, str] = field(default_factory=dict)
    # The kinds of information the fact gives (bot/knowledge/asks.py: phone, date, amount, …).
    answers: tuple[str, ...] = ()
    # Why the fact is not stated (its quotes are gone from a newer version of its source): the bot says the
    # source has changed instead, until an editor fixes or confirms the fact (docs/knowledge.md).
    withheld: str = ""


@dataclass
class Knowledge:
    root: Path
    sources: dict[str, Source]
    facts: dict[str, Fact]
    menu: tuple[str, ...] = ()
    # The fact offered whenever the bot cannot help: how to reach a person.
    contact: str = ""
    # The fact whose `when` is the period the knowledge is about (the strategy's 2021–2025): what "is it
    # still valid?" is measured against (bot/knowledge/currency.py). Empty: no period.
    period: str = ""
    files: list[Path] = field(default_factory=list)
    # Per topic (and "person"), the noun phrase a pronoun stands for after an answer of that topic.
    subjects: dict[str, dict[str, str]] = field(default_factory=dict)

    def subject(self, fact_id: str, lang: str, personal: bool = False) -> str:
        """What "it" (or, personal, "he"/"his") means after the answer fact_id, in lang."""
        fact = self.facts[fact_id]
        names = self.subjects.get("person", {}) if personal else (fact.subject or self.subjects.get(fact.topic, {}))
        return names.get(lang) or names.get("en") or ""

    @property
    def documents(self) -> dict[str, Document]:
        return {d.id: d for source in self.sources.values() for d in source.documents}

    def content_hash(self) -> str:
        """Hash of every file the index is built from; the index is stale when it changes."""
        digest = hashlib.sha256()
        for path in sorted(self.files):
            digest.update(path.relative_to(self.root).as_posix().encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KnowledgeError(f"{path}: file missing") from exc
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise KnowledgeError(f"{path}: expected a mapping at the top level")
    return data


def _web_address(where: str, value: Any) -> str:
    """An http(s) address from sources.yml, or "" when none is configured. Anything else (a javascript: or
    tel: link, a relative path, text with spaces) is refused: these become links users open."""
    if value is None or value == "":
        return ""
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("https", "http") or not parts.netloc or any(c.isspace() for c in value):
        raise KnowledgeError(f"{where}: url {value!r} is not an http(s) address")
    return value


def _documents(source_id: str, entries: Any, text: str) -> tuple[Document, ...]:
    documents = []
    for entry in entries or []:
        where = f"source {source_id}: document {entry.get('id') if isinstance(entry, dict) else entry!r}"
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and entry[k] for k in ("id", "name")):
            raise KnowledgeError(f"{where}: needs an `id` and the file's `name` as the page gives it")
        # The file's name is a claim about the source like any quote: it must stand in the text.
        if fold(entry["name"]) not in fold(text):
            raise KnowledgeError(f"{where}: {entry['name']!r} is not in the source's text")
        title = entry.get("title") or entry["name"]
        documents.append(Document(entry["id"], entry["name"], str(title), _web_address(where, entry.get("url"))))
    return tuple(documents)


def _titles(source_id: str, value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) and v
                                              for k, v in value.items()):
        raise KnowledgeError(f"source {source_id}: `titles` maps a language to the title the source gives in it")
    return tuple(value.items())


VERSIONS_FILE = "versions.yml"


def versions_path(root: Path, source_id: str) -> Path:
    """Where a source's published versions are described (bot/knowledge/versions.py writes it)."""
    return root / "sources" / source_id / VERSIONS_FILE


def _current_version(root: Path, source_id: str, file: str, length: int) -> tuple[str, tuple[int, ...], Path | None]:
    """The format and PDF page offsets of the version that sources.yml names as current, when the source has a
    versions file; ("text", (), None) without one (a source that was never published from the back office)."""
    path = versions_path(root, source_id)
    if not path.is_file():
        return "text", (), None
    data = _read_yaml(path)
    for version in data.get("versions") or []:
        if isinstance(version, dict) and version.get("file") == file:
            pages = version.get("pages") or []
            if not isinstance(pages, list) or not all(isinstance(p, int) and 0 <= p <= length for p in pages):
                raise KnowledgeError(f"{path}: the pages of {file} must be character offsets within its text")
            return str(version.get("format") or "text"), tuple(pages), path
    return "text", (), path


def load_sources(root: Path) -> tuple[dict[str, Source], list[Path]]:
    meta_path = root / "sources.yml"
    meta = _read_yaml(meta_path)
    sources: dict[str, Source] = {}
    files = [meta_path]
    for entry in meta.get("sources") or []:
        missing = [k for k in ("id", "file", "title", "updated", "publisher") if not entry.get(k)]
        if missing:
            raise KnowledgeError(f"{meta_path}: a source lacks {', '.join(missing)}")
        path = root / entry["file"]
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise KnowledgeError(f"source {entry['id']}: file {path} missing") from exc
        version_format, pages, versions_file = _current_version(root, entry["id"], entry["file"], len(text))
        if versions_file is not None:
            files.append(versions_file)
        source = Source(
            id=entry["id"],
            path=path,
            lang=entry.get("lang", "en"),
            title=entry["title"],
            updated=entry["updated"],
            publisher=entry["publisher"],
            text=text,
            not_content=tuple(entry.get("not_content") or ()),
            url=_web_address(f"source {entry['id']}", entry.get("url")),
            documents=_documents(entry["id"], entry.get("documents"), text),
            titles=_titles(entry["id"], entry.get("titles")),
            format=version_format,
            pages=pages,
        )
        # The metadata the bot cites is itself a claim about the source, so it is checked too.
        for label in ("title", "updated", "publisher"):
            if fold(entry[label]) not in fold(text):
                raise KnowledgeError(f"source {source.id}: {label} {entry[label]!r} is not in {path.name}")
        for lang, title in source.titles:
            if fold(title) not in fold(text):
                raise KnowledgeError(f"source {source.id}: the {lang} title {title!r} is not in {path.name}")
        known = {d.id for other in sources.values() for d in other.documents}
        for document in source.documents:
            if document.id in known:
                raise KnowledgeError(f"source {source.id}: document {document.id!r} is listed twice")
            known.add(document.id)
        sources[source.id] = source
        files.append(path)
    if not sources:
        raise KnowledgeError(f"{meta_path}: no sources listed")
    return sources, files


def _per_language(fact_id: str, name: str, value: Any, required: bool) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or not value:
        raise KnowledgeError(f"fact {fact_id}: {name} must map languages to values")
    unknown = set(value) - set(LANGUAGES)
    if unknown:
        raise KnowledgeError(f"fact {fact_id}: {name} has unknown languages {sorted(unknown)}")
    if required and "en" not in value:
        raise KnowledgeError(f"fact {fact_id}: {name} has no English (en) version")
    return dict(value)


def _period(fact_id: str, value: Any) -> tuple[dt.date, dt.date] | None:
    """`when: 2020-09-01/2020-11-30` (or a single date) as its first and last day."""
    if value is None:
        return None
    try:
        first, _, last = str(value).partition("/")
        period = (dt.date.fromisoformat(first.strip()), dt.date.fromisoformat((last or first).strip()))
    except ValueError as exc:
        raise KnowledgeError(f"fact {fact_id}: when {value!r} is not 'YYYY-MM-DD' or 'YYYY-MM-DD/YYYY-MM-DD'") from exc
    if period[1] < period[0]:
        raise KnowledgeError(f"fact {fact_id}: when {value!r} ends before it starts")
    return period


def _answers(fact_id: str, value: Any) -> tuple[str, ...]:
    from bot.knowledge.asks import KINDS

    kinds = tuple(value or ())
    unknown = sorted(set(kinds) - KINDS)
    if unknown:
        raise KnowledgeError(f"fact {fact_id}: answers names unknown kinds {unknown} (known: {sorted(KINDS)})")
    return kinds


def _parse_fact(raw: dict[str, Any], sources: dict[str, Source]) -> Fact:
    fact_id = raw.get("id")
    if not fact_id:
        raise KnowledgeError(f"a fact without an id: {raw!r:.80}")
    topic = raw.get("topic")
    if topic not in TOPICS:
        raise KnowledgeError(f"fact {fact_id}: topic {topic!r} is not one of {TOPICS}")
    kind = raw.get("kind", "answer")
    if kind not in FACT_KINDS:
        raise KnowledgeError(f"fact {fact_id}: kind {kind!r} is not one of {FACT_KINDS}")
    default_source = next(iter(sources))
    quotes = []
    for q in raw.get("quotes") or []:
        if not isinstance(q, dict) or not isinstance(q.get("text"), str):
            raise KnowledgeError(f"fact {fact_id}: each quote needs a `text:` with the quoted words")
        source_id = q.get("source", default_source)
        if source_id not in sources:
            raise KnowledgeError(f"fact {fact_id}: unknown source {source_id!r}")
        quotes.append(Quote(text=q["text"], source=source_id, lang=q.get("lang", sources[source_id].lang)))
    if not quotes:
        raise KnowledgeError(f"fact {fact_id}: no quotes; every fact must quote its source")
    return Fact(
        id=fact_id,
        topic=topic,
        kind=kind,
        title=_per_language(fact_id, "title", raw.get("title"), required=True),
        text={lang: " ".join(t.split()) for lang, t in _per_language(fact_id, "text", raw.get("text"), True).items()},
        keys=_per_language(fact_id, "keys", raw.get("keys"), required=False),
        quotes=tuple(quotes),
        follow_ups=tuple(raw.get("follow_ups") or ()),
        overview=bool(raw.get("overview", False)),
        translated=tuple(raw.get("translated") or ()),
        documents=tuple(raw.get("documents") or ()),
        lists=tuple(raw.get("lists") or ()),
        when=_period(fact_id, raw.get("when")),
        subject=_per_language(fact_id, "subject", raw.get("subject"), required=False),
        answers=_answers(fact_id, raw.get("answers")),
        withheld=_withheld(fact_id, raw.get("withheld")),
    )


def _withheld(fact_id: str, value: Any) -> str:
    if value is None or value is False:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeError(f"fact {fact_id}: `withheld` gives the reason the fact is not stated, as text")
    return value.strip()


def check_facts(facts: dict[str, Fact], sources: dict[str, Source]) -> None:
    """Every quote must stand in its source, and every follow-up must name a fact."""
    folded = {sid: fold(s.text) for sid, s in sources.items()}
    for fact in facts.values():
        for quote in fact.quotes:
            # A withheld fact is withheld because its quotes left the source: it is never stated meanwhile.
            if not fact.withheld and fold(quote.text) not in folded[quote.source]:
                raise KnowledgeError(
                    f"fact {fact.id}: quote not found in source {quote.source}: {quote.text!r}"
                )
        # A text in a language none of its quotes is in must say that it is a translation.
        quoted = {q.lang for q in fact.quotes}
        for lang in fact.text:
            if lang not in quoted and lang not in fact.translated:
                raise KnowledgeError(
                    f"fact {fact.id}: its {lang} text has no {lang} quote; mark it `translated: [{lang}]`"
                )
        for lang in fact.translated:
            if lang not in fact.text:
                raise KnowledgeError(f"fact {fact.id}: `translated` names {lang}, which has no text")
        for target in (*fact.follow_ups, *fact.lists):
            if target not in facts:
                raise KnowledgeError(f"fact {fact.id}: follow-up or listed fact {target!r} is not a fact")
        documents = {d.id for s in sources.values() for d in s.documents}
        for document in fact.documents:
            if document not in documents:
                raise KnowledgeError(f"fact {fact.id}: document {document!r} is not listed in sources.yml")


def load_knowledge(root: Path) -> Knowledge:
    """Read and check knowledge/; raises KnowledgeError naming the first problem found."""
    sources, files = load_sources(root)
    facts_path = root / "facts.yml"
    data = _read_yaml(facts_path)
    facts: dict[str, Fact] = {}
    for raw in data.get("facts") or []:
        fact = _parse_fact(raw, sources)
        if fact.id in facts:
            raise KnowledgeError(f"fact {fact.id}: defined twice")
        facts[fact.id] = fact
    check_facts(facts, sources)
    menu = tuple(data.get("menu") or ())
    contact = data.get("contact", "")
    for fact_id in (*menu, contact):
        if fact_id not in facts:
            raise KnowledgeError(f"{facts_path}: {fact_id!r} is named in menu or contact but is not a fact")
    period = data.get("period", "") or ""
    if period and (period not in facts or facts[period].when is None):
        raise KnowledgeError(f"{facts_path}: period {period!r} must name a fact that has a `when`")
    subjects = data.get("subjects") or {}
    if not isinstance(subjects, dict) or any(
        not isinstance(v, dict) or set(v) - set(LANGUAGES) for v in subjects.values()
    ):
        raise KnowledgeError(f"{facts_path}: subjects must map a topic (or person) to a phrase per language")
    unknown = set(subjects) - {*TOPICS, "person"}
    if unknown:
        raise KnowledgeError(f"{facts_path}: subjects names unknown topics {sorted(unknown)}")
    return Knowledge(
        root=root, sources=sources, facts=facts, menu=menu, contact=contact, period=period,
        files=[*files, facts_path],
        subjects={k: dict(v) for k, v in subjects.items()},
    )
