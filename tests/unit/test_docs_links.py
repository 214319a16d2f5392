"""Every relative link in the README and docs/ leads to a file that exists (pages were moved between them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT

LINK = re.compile(r"\]\(([^)\s]+)\)")
PAGES = [
    PROJECT_ROOT / "README.md", PROJECT_ROOT / "widget" / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))
]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(PROJECT_ROOT)) for p in PAGES])
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        # reports/ is written by the test run (screenshots), not kept in git.
        if re.match(r"^[a-z]+:", target) or target.startswith("#") or "reports/" in target:
            continue
        path = target.split("#", 1)[0]
        if not (page.parent / path).exists():
            broken.append(target)
    assert broken == []
