"""Creating or changing one fact of knowledge/facts.yml from the back office, with the checks of
`bin/bot knowledge build`: the fact's block is written anew (the rest of the file stays as it is, so git shows
only that fact), and the knowledge with it must load (every quote in its source, every text in a language of
its quotes or marked translated). A fix clears `withheld`. Nothing here writes: the caller writes the planned
file under the knowledge lock."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.store import LANGUAGES, TOPICS, KnowledgeError, load_knowledge
from bot.knowledge.versions import Files, VersionError, _entry_span, check_copy

# The fields an editor sets; the others a fact may have (lists, when, answers, documents, …) are kept as they are.
EDITABLE = ("topic", "title", "text", "translated", "keys", "quotes", "follow_ups")
MAX_FIELD_CHARS = 4000
MAX_KEYS = 60
MAX_QUOTES = 20
_ID = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


class FactRefused(VersionError):
    """The fact as given fails a check; nothing was written. The message says which and why."""


def _texts(name: str, value: Any, required: bool) -> dict[str, str]:
    if value is None:
        value = {}
    if not isinstance(value, dict) or set(value) - set(LANGUAGES):
        raise FactRefused(f"{name} maps the languages {', '.join(LANGUAGES)} to text")
    out = {}
    for lang in LANGUAGES:
        text = value.get(lang)
        if text is None or (isinstance(text, str) and not text.strip()):
            continue
        if not isinstance(text, str) or len(text) > MAX_FIELD_CHARS:
            raise FactRefused(f"{name} in {lang} must be text of at most {MAX_FIELD_CHARS} characters")
        out[lang] = " ".join(text.split())
    if required and "en" not in out:
        raise FactRefused(f"{name} needs an English (en) version")
    return out


def _strings(name: str, value: Any, limit: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FactRefused(f"{name} must be a list of texts")
    cleaned = [" ".join(v.split()) for v in value if v.strip()]
    if len(cleaned) > limit or any(len(v) > MAX_FIELD_CHARS for v in cleaned):
        raise FactRefused(f"{name}: at most {limit} items of at most {MAX_FIELD_CHARS} characters")
    return list(dict.fromkeys(cleaned))


def normalised_fact(fact_id: str, given: dict[str, Any], earlier: dict[str, Any] | None) -> dict[str, Any]:
    """The fact's YAML mapping from what the editor gave, on top of the fact as it was (its other fields)."""
    if not _ID.match(fact_id):
        raise FactRefused("a fact's id is 2–64 lower-case letters, digits and underscores, starting with a letter")
    topic = given.get("topic")
    if topic not in TOPICS:
        raise FactRefused(f"topic must be one of {', '.join(TOPICS)}")
    raw: dict[str, Any] = {"id": fact_id}
    for key, value in (earlier or {}).items():
        if key not in (*EDITABLE, "id", "withheld"):
            raw[key] = value
    raw = {"id": fact_id, "topic": topic, **{k: v for k, v in raw.items() if k != "id"}}
    raw["title"] = _texts("title", given.get("title"), required=True)
    raw["text"] = _texts("text", given.get("text"), required=True)
    translated = _strings("translated", given.get("translated"), len(LANGUAGES))
    if set(translated) - set(LANGUAGES):
        raise FactRefused(f"translated names languages among {', '.join(LANGUAGES)}")
    if translated:
        raw["translated"] = translated
    keys_given = given.get("keys") or {}
    if not isinstance(keys_given, dict) or set(keys_given) - set(LANGUAGES):
        raise FactRefused(f"keys maps the languages {', '.join(LANGUAGES)} to lists of phrasings")
    keys = {lang: _strings(f"keys in {lang}", keys_given.get(lang), MAX_KEYS) for lang in LANGUAGES}
    keys = {lang: items for lang, items in keys.items() if items}
    if keys:
        raw["keys"] = keys
    quotes_given = given.get("quotes")
    if not isinstance(quotes_given, list) or not quotes_given or len(quotes_given) > MAX_QUOTES:
        raise FactRefused(f"a fact needs 1–{MAX_QUOTES} quotes of its source")
    quotes = []
    for quote in quotes_given:
        if isinstance(quote, str):
            quote = {"text": quote}
        if not isinstance(quote, dict) or not isinstance(quote.get("text"), str) or not quote["text"].strip():
            raise FactRefused("each quote needs its text, as the source has it")
        item: dict[str, Any] = {"text": " ".join(quote["text"].split())}
        for extra in ("source", "lang"):
            if isinstance(quote.get(extra), str) and quote[extra]:
                item[extra] = quote[extra]
        if len(item["text"]) > MAX_FIELD_CHARS:
            raise FactRefused(f"a quote may be at most {MAX_FIELD_CHARS} characters")
        quotes.append(item)
    raw["quotes"] = quotes
    follow_ups = _strings("follow_ups", given.get("follow_ups"), 10)
    if follow_ups:
        raw["follow_ups"] = follow_ups
    return raw


class _FactDumper(yaml.SafeDumper):
    """The layout of facts.yml: nested lists indented under their key, short lists of names on one line."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
    short = all(isinstance(i, str) and re.fullmatch(r"[a-z0-9_]+", i) for i in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=bool(items) and short)


def _mapping(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.Node:
    short = set(value) <= set(LANGUAGES) and all(isinstance(v, str) and len(v) < 40 for v in value.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=short and bool(value))


_FactDumper.add_representer(list, _list)
_FactDumper.add_representer(dict, _mapping)


def _block(raw: dict[str, Any]) -> list[str]:
    dumped = yaml.dump([raw], Dumper=_FactDumper, allow_unicode=True, sort_keys=False, width=110)
    return ["  " + line if line else line for line in dumped.rstrip("\n").split("\n")]


def raw_facts(knowledge_dir: Path) -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((knowledge_dir / "facts.yml").read_text(encoding="utf-8")) or {}
    return {f["id"]: f for f in data.get("facts") or [] if isinstance(f, dict) and "id" in f}


def plan_fact(knowledge_dir: Path, fact_id: str, given: dict[str, Any], create: bool) -> tuple[Files, dict[str, Any]]:
    """facts.yml with this fact written (replaced, or appended when create), checked as the build checks it."""
    try:
        load_knowledge(knowledge_dir)
    except KnowledgeError as exc:
        raise FactRefused(f"the knowledge does not load as it is ({exc}); fix it first") from exc
    existing = raw_facts(knowledge_dir)
    if create and fact_id in existing:
        raise FactRefused(f"a fact {fact_id!r} exists already: choose another id")
    if not create and fact_id not in existing:
        raise FactRefused(f"no fact {fact_id!r}")
    raw = normalised_fact(fact_id, given, existing.get(fact_id))
    path = knowledge_dir / "facts.yml"
    before = path.read_bytes()
    lines = before.decode("utf-8").split("\n")
    if create:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += ["", *_block(raw), ""]
    else:
        first, end, _ = _entry_span(lines, fact_id)
        lines[first:end] = _block(raw)
    after = "\n".join(lines)
    written = (yaml.safe_load(after) or {}).get("facts") or []
    if [f for f in written if f.get("id") == fact_id] != [raw] or len(written) != len(existing) + int(create):
        raise FactRefused("the fact could not be written without changing anything else in facts.yml")
    files: Files = {path: (before, after)}
    try:
        check_copy(knowledge_dir, files)
    except VersionError as exc:
        raise FactRefused(str(exc).replace("the knowledge would not pass its checks: ", "")) from exc
    return files, raw
