"""Versions of a source: each published text kept under knowledge/sources/<id>/<n>.txt, described in
knowledge/sources/<id>/versions.yml (number, file, format, PDF page offsets, who published it and when), with
sources.yml naming the current one (the build reads that). A new version is compared with the current one (the
lines that changed, and the facts whose quotes it no longer has: stale); publishing it withholds those facts
until an editor fixes or confirms each one (docs/knowledge.md, "Keeping the knowledge current").

Nothing here writes: `plan_publish` and `plan_release` return the new text of each file, checked on a copy of
the knowledge folder; the caller writes them under the knowledge lock (bot/analytics/review.py KnowledgeWriter).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.extract import Extracted
from bot.knowledge.store import Fact, Knowledge, KnowledgeError, Source, load_knowledge, versions_path
from bot.knowledge.text import fold

# Planned files: path -> (its bytes before, None when new; its new text).
Files = dict[Path, tuple[bytes | None, str]]


class VersionError(Exception):
    """The version cannot be published (or the fact released) as asked; the message says why."""


@dataclass(frozen=True)
class Version:
    number: int
    file: str
    format: str = "text"
    pages: tuple[int, ...] = ()
    published_by: str = ""
    published_at: str = ""
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "number": self.number, "file": self.file, "format": self.format, "pages": len(self.pages) or None,
            "published_by": self.published_by, "published_at": self.published_at, "note": self.note,
        }


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def source_entry_file(knowledge: Knowledge, source: Source) -> str:
    return source.path.relative_to(knowledge.root).as_posix()


def versions(knowledge: Knowledge, source_id: str) -> list[Version]:
    """The source's versions, oldest first. A source never published from the back office has one: the file
    sources.yml names, published before the back office kept versions."""
    source = knowledge.sources[source_id]
    path = versions_path(knowledge.root, source_id)
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    found = []
    for item in (raw or {}).get("versions") or []:
        if isinstance(item, dict) and isinstance(item.get("number"), int) and isinstance(item.get("file"), str):
            found.append(Version(
                number=item["number"], file=item["file"], format=str(item.get("format") or "text"),
                pages=tuple(item.get("pages") or ()), published_by=str(item.get("published_by") or ""),
                published_at=str(item.get("published_at") or ""), note=str(item.get("note") or ""),
            ))
    if not found:
        found.append(Version(1, source_entry_file(knowledge, source)))
    return sorted(found, key=lambda v: v.number)


def current_version(knowledge: Knowledge, source_id: str) -> Version:
    file = source_entry_file(knowledge, knowledge.sources[source_id])
    listed = versions(knowledge, source_id)
    return next((v for v in listed if v.file == file), listed[-1])


def version_text(knowledge: Knowledge, source_id: str, number: int) -> str:
    for version in versions(knowledge, source_id):
        if version.number == number:
            path = (knowledge.root / version.file).resolve()
            if knowledge.root.resolve() not in path.parents:
                raise VersionError(f"version {number} of {source_id} names a file outside the knowledge folder")
            return path.read_text(encoding="utf-8")
    raise VersionError(f"source {source_id} has no version {number}")


# --- what changes -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stale:
    fact: str
    title: str
    missing: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"fact": self.fact, "title": self.title, "missing_quotes": list(self.missing)}


def stale_facts(knowledge: Knowledge, source_id: str, text: str) -> list[Stale]:
    """The facts (not withheld already) with a quote of this source that the new text does not have."""
    folded = fold(text)
    stale = []
    for fact in knowledge.facts.values():
        if fact.withheld:
            continue
        missing = tuple(q.text for q in fact.quotes if q.source == source_id and fold(q.text) not in folded)
        if missing:
            stale.append(Stale(fact.id, fact.title.get("en") or fact.id, missing))
    return stale


def found_again(knowledge: Knowledge, source_id: str, text: str) -> list[str]:
    """Withheld facts whose every quote of this source the new text has: an editor may confirm them."""
    folded = fold(text)
    return [
        fact.id for fact in knowledge.facts.values()
        if fact.withheld and any(q.source == source_id for q in fact.quotes)
        and all(fold(q.text) in folded for q in fact.quotes if q.source == source_id)
    ]


def metadata_problems(source: Source, text: str, updated: str) -> list[str]:
    """What the bot cites of the source must stand in the new text, as the build checks it."""
    folded = fold(text)
    problems = []
    for label, value in (("title", source.title), ("update date", updated), ("publisher", source.publisher)):
        if fold(value) not in folded:
            problems.append(f"the {label} {value!r} is not in the new text" + (
                "; give the date the new version says it was updated" if label == "update date" else ""))
    for lang, title in source.titles:
        if fold(title) not in folded:
            problems.append(f"the {lang} title {title!r} is not in the new text")
    for document in source.documents:
        if fold(document.name) not in folded:
            problems.append(f"the document {document.name!r} is not named in the new text")
    return problems


# The lines of context kept around each change in the diff shown to the editor.
DIFF_CONTEXT = 2


def diff_lines(old: str, new: str, context: int = DIFF_CONTEXT) -> list[dict[str, str]]:
    """The changes between two versions, line by line: {"op": "same" | "removed" | "added" | "gap", "line"}."""
    a, b = old.splitlines(), new.splitlines()
    out: list[dict[str, str]] = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        if out:
            out.append({"op": "gap", "line": "…"})
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [{"op": "same", "line": line} for line in a[i1:i2]]
                continue
            out += [{"op": "removed", "line": line} for line in a[i1:i2]]
            out += [{"op": "added", "line": line} for line in b[j1:j2]]
    return out


# --- uploads waiting to be published -------------------------------------------------------------------------------

UPLOADS_DIR = ".uploads"
# Uploads older than this are dropped (a preview nobody published); at most MAX_UPLOADS are kept.
UPLOAD_MAX_AGE_SECONDS = 7 * 24 * 3600
MAX_UPLOADS = 50
_UPLOAD_ID = re.compile(r"^[0-9a-f]{16}$")


class UploadStore:
    """New versions extracted but not yet published, in <knowledge>/.uploads/ (ignored by git and the build)."""

    def __init__(self, knowledge_dir: Path) -> None:
        self.folder = knowledge_dir / UPLOADS_DIR

    def save(self, source_id: str, base: int, extracted: Extracted, who: str, name: str = "") -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._prune()
        upload_id = secrets.token_hex(8)
        record = {
            "id": upload_id, "source": source_id, "base": base, "format": extracted.format,
            "pages": list(extracted.pages), "text": extracted.text, "uploaded_by": who, "name": name[:200],
            "uploaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        (self.folder / f"{upload_id}.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        return upload_id

    def load(self, upload_id: str) -> dict[str, Any] | None:
        if not _UPLOAD_ID.match(upload_id):
            return None
        try:
            record = json.loads((self.folder / f"{upload_id}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def remove(self, upload_id: str) -> None:
        if _UPLOAD_ID.match(upload_id):
            (self.folder / f"{upload_id}.json").unlink(missing_ok=True)

    def _prune(self) -> None:
        files = sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
        now = time.time()
        for number, path in enumerate(files):
            if now - path.stat().st_mtime > UPLOAD_MAX_AGE_SECONDS or number < len(files) - MAX_UPLOADS + 1:
                path.unlink(missing_ok=True)


# --- planning the files --------------------------------------------------------------------------------------------


def yaml_string(value: str) -> str:
    """A YAML double-quoted scalar that reads back as `value` (JSON's escapes are YAML's)."""
    return json.dumps(value, ensure_ascii=False)


def _entry_span(lines: list[str], item: str, key: str = "id") -> tuple[int, int, int]:
    """(first line, line after the last, indent of the fields) of the list item `- <key>: <item>`."""
    start = re.compile(rf"^(\s*)- {key}:\s*[\"']?{re.escape(item)}[\"']?\s*(#.*)?$")
    for number, line in enumerate(lines):
        match = start.match(line)
        if match:
            indent = len(match.group(1))
            end = number + 1
            while end < len(lines):
                stripped = lines[end].strip()
                if stripped and not stripped.startswith("#") and len(lines[end]) - len(lines[end].lstrip()) <= indent:
                    break
                end += 1
            # Comments and blank lines just before the next item belong to it.
            while end > number + 1 and (not lines[end - 1].strip() or lines[end - 1].strip().startswith("#")):
                end -= 1
            return number, end, indent + 2
    raise VersionError(f"no entry {item!r} found to change")


def set_fields(text: str, item: str, values: dict[str, str]) -> str:
    """The entry `- id: <item>` with these `field: value` lines set (replaced in place, or added after the id)."""
    lines = text.split("\n")
    first, end, indent = _entry_span(lines, item)
    for name, value in values.items():
        pattern = re.compile(rf"^ {{{indent}}}{re.escape(name)}:")
        line = " " * indent + f"{name}: {yaml_string(value)}"
        for number in range(first + 1, end):
            if pattern.match(lines[number]):
                lines[number] = line
                break
        else:
            lines.insert(first + 1, line)
            end += 1
    return "\n".join(lines)


def remove_field(text: str, item: str, name: str) -> str:
    lines = text.split("\n")
    first, end, indent = _entry_span(lines, item)
    pattern = re.compile(rf"^ {{{indent}}}{re.escape(name)}:")
    return "\n".join(line for n, line in enumerate(lines) if not (first < n < end and pattern.match(line)))


def check_copy(knowledge_dir: Path, files: Files) -> Knowledge:
    """The knowledge with the planned files loads and passes its checks (in a copy: nothing is written)."""
    from bot.faq.entries import FaqError, check_faq

    with tempfile.TemporaryDirectory(prefix="ris3-knowledge-") as tmp:
        copy = Path(tmp) / "knowledge"
        shutil.copytree(knowledge_dir, copy, ignore=shutil.ignore_patterns("index", "index.*", ".*", "drafts"))
        for path, (_, content) in files.items():
            target = copy / path.relative_to(knowledge_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        try:
            checked = load_knowledge(copy)
            if (copy / "faq.yml").is_file():
                check_faq(copy)
        except (KnowledgeError, FaqError) as exc:
            raise VersionError(f"the knowledge would not pass its checks: {exc}") from exc
        return checked


@dataclass
class Publication:
    source: str
    number: int
    files: Files = field(default_factory=dict)
    withheld: list[Stale] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source, "version": self.number, "withheld": [s.as_json() for s in self.withheld],
            "files": sorted(str(p) for p in self.files),
        }


def _versions_yaml(source_id: str, listed: list[Version]) -> str:
    head = (
        f"# The published versions of source {source_id} (bot/knowledge/versions.py); sources.yml names the\n"
        "# current one. Written by the back office's Knowledge page; `pages`: where each PDF page starts in the text.\n"
    )
    items = []
    for version in listed:
        item: dict[str, Any] = {"number": version.number, "file": version.file, "format": version.format}
        if version.pages:
            item["pages"] = list(version.pages)
        item["published_by"] = version.published_by
        item["published_at"] = version.published_at
        if version.note:
            item["note"] = version.note
        items.append(item)
    return head + yaml.safe_dump({"versions": items}, allow_unicode=True, sort_keys=False, width=120)


def plan_publish(
    knowledge_dir: Path, upload: dict[str, Any], who: str, updated: str = "", note: str = ""
) -> Publication:
    """The files that publish this upload as the source's next version, withholding the facts it leaves stale."""
    try:
        knowledge = load_knowledge(knowledge_dir)
    except KnowledgeError as exc:
        raise VersionError(f"the knowledge does not load as it is ({exc}); fix it first") from exc
    source_id = str(upload.get("source"))
    source = knowledge.sources.get(source_id)
    if source is None:
        raise VersionError(f"no source {source_id!r}")
    current = current_version(knowledge, source_id)
    if upload.get("base") != current.number:
        raise VersionError(
            f"version {current.number} was published after this upload was compared with version {upload.get('base')}:"
            " upload it again to see the differences from the current version"
        )
    text = str(upload.get("text") or "")
    updated = (updated or source.updated).strip()
    problems = metadata_problems(source, text, updated)
    if problems:
        raise VersionError("; ".join(problems))
    listed = versions(knowledge, source_id)
    number = max(v.number for v in listed) + 1
    relative = f"sources/{source_id}/{number}.txt"
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    new = Version(number, relative, str(upload.get("format") or "text"), tuple(upload.get("pages") or ()), who, when,
                  note.strip()[:500])
    publication = Publication(source_id, number)
    text_path = knowledge_dir / relative
    if text_path.exists():
        raise VersionError(f"{relative} exists already: it is not listed as a version; move it away first")
    publication.files[text_path] = (None, text)
    versions_file = versions_path(knowledge_dir, source_id)
    publication.files[versions_file] = (_read_bytes(versions_file), _versions_yaml(source_id, [*listed, new]))
    sources_file = knowledge_dir / "sources.yml"
    before = sources_file.read_bytes()
    fields = {"file": relative}
    if updated != source.updated:
        fields["updated"] = updated
    publication.files[sources_file] = (before, set_fields(before.decode("utf-8"), source_id, fields))
    publication.withheld = stale_facts(knowledge, source_id, text)
    if publication.withheld:
        facts_file = knowledge_dir / "facts.yml"
        facts_before = facts_file.read_bytes()
        content = facts_before.decode("utf-8")
        for stale in publication.withheld:
            quotes = "; ".join(f"“{q}”" for q in stale.missing)
            reason = f"version {number} of {source_id} (published {when[:10]} by {who}) no longer has {quotes}"
            content = set_fields(content, stale.fact, {"withheld": reason})
        publication.files[facts_file] = (facts_before, content)
    checked = check_copy(knowledge_dir, publication.files)
    still = [s.fact for s in publication.withheld if not checked.facts[s.fact].withheld]
    if still:
        raise VersionError(f"the facts {', '.join(still)} could not be marked withheld")
    return publication


def plan_release(knowledge_dir: Path, fact_id: str) -> Files:
    """The files that state a withheld fact again: only once every quote of it stands in the current sources."""
    knowledge = load_knowledge(knowledge_dir)
    fact = knowledge.facts.get(fact_id)
    if fact is None:
        raise VersionError(f"no fact {fact_id!r}")
    if not fact.withheld:
        raise VersionError(f"fact {fact_id} is not withheld")
    missing = missing_quotes(knowledge, fact)
    if missing:
        raise VersionError(
            f"fact {fact_id} cannot be confirmed: the current source does not have " +
            "; ".join(f"“{q}”" for q in missing) + ". Edit the fact and choose its quotes in the new text"
        )
    facts_file = knowledge_dir / "facts.yml"
    before = facts_file.read_bytes()
    files: Files = {facts_file: (before, remove_field(before.decode("utf-8"), fact_id, "withheld"))}
    check_copy(knowledge_dir, files)
    return files


def missing_quotes(knowledge: Knowledge, fact: Fact) -> list[str]:
    return [q.text for q in fact.quotes if fold(q.text) not in fold(knowledge.sources[q.source].text)]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]
