"""knowledge/faq.yml: the FAQ entries staff edit. Each entry has question variants in Finnish and
English and answers with references to curated facts (ids in knowledge/facts.yml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

LANGUAGES = ("en", "fi")


class FaqError(ValueError):
    """knowledge/faq.yml is malformed or refers to facts that do not exist."""


@dataclass(frozen=True)
class FaqEntry:
    id: str
    topic: str
    variants: dict[str, list[str]]
    facts: list[str] = field(default_factory=list)


def _fact_ids(knowledge_dir: Path) -> set[str]:
    data = yaml.safe_load((knowledge_dir / "facts.yml").read_text(encoding="utf-8")) or {}
    return {fact["id"] for fact in data.get("facts") or [] if isinstance(fact, dict) and "id" in fact}


def check_faq(knowledge_dir: Path | str, faq_file: Path | str | None = None) -> list[FaqEntry]:
    """Load and check the FAQ: every entry has an id, English and Finnish variants and at least one
    fact, and every fact it refers to exists. Raises FaqError listing every problem by entry."""
    knowledge_dir = Path(knowledge_dir)
    path = Path(faq_file) if faq_file else knowledge_dir / "faq.yml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise FaqError(f"cannot read {path}: {exc}") from exc
    facts = _fact_ids(knowledge_dir)
    raw = data.get("faq") if isinstance(data, dict) else None
    if not isinstance(raw, list) or not raw:
        raise FaqError(f"{path}: expected a non-empty list under `faq:`")
    problems: list[str] = []
    entries: list[FaqEntry] = []
    seen: set[str] = set()
    for number, item in enumerate(raw, 1):
        name = item.get("id") if isinstance(item, dict) else None
        label = f"entry {name!r}" if name else f"entry #{number}"
        if not isinstance(item, dict) or not name:
            problems.append(f"{label}: needs an `id`")
            continue
        if name in seen:
            problems.append(f"{label}: duplicate id")
        seen.add(name)
        variants = item.get("questions") or {}
        for lang in LANGUAGES:
            questions = variants.get(lang) if isinstance(variants, dict) else None
            if not questions or not all(isinstance(q, str) and q.strip() for q in questions):
                problems.append(f"{label}: no {lang} question variants under `questions.{lang}`")
        refs = item.get("facts") or []
        if not refs:
            problems.append(f"{label}: answers with no fact (`facts:` is empty)")
        for ref in refs:
            if ref not in facts:
                problems.append(f"{label}: unknown fact id {ref!r} (not in {knowledge_dir / 'facts.yml'})")
        entries.append(
            FaqEntry(
                id=name,
                topic=str(item.get("topic") or ""),
                variants={k: list(v) for k, v in (variants.items() if isinstance(variants, dict) else [])},
                facts=list(refs),
            )
        )
    if problems:
        raise FaqError(f"{path}: " + "; ".join(problems))
    return entries
