"""docs/dependencies.md, the record of known advisories, against the pins in requirements/*.txt.

pip-audit has no vulnerability database here, so the record is checked offline instead: every package
it names must be pinned at the version the record was written for, a row saying "upgraded to X" must
match the pin, and every pinned package must appear in the record. A pin change therefore fails this
test until someone has looked at the new version's advisories and updated the record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
RECORD = REPO / "docs" / "dependencies.md"

SECTION = re.compile(r"^## .*`requirements/(?P<runtime>[\w.-]+)\.txt`")
UPGRADED = re.compile(r"upgraded to (?P<version>[0-9][^\s,;|)]*)", re.IGNORECASE)
UNPINNED = "(unpinned)"
PINS_FENCE = "```pins"


@dataclass(frozen=True)
class Entry:
    runtime: str
    package: str  # canonical name
    version: str
    unpinned: bool
    upgraded_to: str | None
    in_table: bool
    line: int


def read_pins(text: str) -> dict[str, str]:
    """name -> version for every `name==version` line of a pip-compile lock file."""
    pins: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if "==" not in line:
            continue
        name, version = line.split("==", 1)
        pins[canonicalize_name(name.split("[", 1)[0].strip())] = version.strip()
    return pins


def parse_record(text: str) -> tuple[dict[str, list[Entry]], list[str]]:
    """The record's entries per runtime (from its tables and ```pins blocks) and the lines it could not read."""
    entries: dict[str, list[Entry]] = {}
    errors: list[str] = []
    runtime: str | None = None
    in_pins = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if in_pins:
            if line.startswith("```"):
                in_pins = False
            elif line:
                name, sep, version = line.partition("==")
                if not sep or not name.strip() or not version.strip():
                    errors.append(f"line {number}: expected name==version in a pins block, got {line!r}")
                    continue
                entries[runtime or ""].append(
                    Entry(runtime or "", canonicalize_name(name.strip()), version.strip(), False, None, False, number)
                )
            continue
        if raw.startswith("## "):
            match = SECTION.match(raw)
            runtime = match["runtime"] if match else None
            if runtime is not None:
                entries.setdefault(runtime, [])
            continue
        if runtime is None:
            continue
        if line.startswith(PINS_FENCE):
            in_pins = True
            continue
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0].lower() == "package" or set(line) <= set("|-: "):
            continue  # header or separator row
        if len(cells) < 2 or not cells[0] or not cells[1]:
            errors.append(f"line {number}: a table row needs the package and its pinned version first")
            continue
        version = cells[1]
        unpinned = version.endswith(UNPINNED)
        if unpinned:
            version = version[: -len(UNPINNED)].strip()
        upgraded = UPGRADED.search(cells[-1])
        entries[runtime].append(
            Entry(
                runtime,
                canonicalize_name(cells[0]),
                version,
                unpinned,
                upgraded["version"] if upgraded else None,
                True,
                number,
            )
        )
    if in_pins:
        errors.append("a ```pins block is not closed")
    return entries, errors


def check_record(text: str, pins_by_runtime: dict[str, dict[str, str]]) -> list[str]:
    """Every way the record and the pins disagree, one sentence each; empty when they agree."""
    entries, problems = parse_record(text)
    for runtime in sorted(set(pins_by_runtime) - set(entries)):
        problems.append(f"requirements/{runtime}.txt has no section in the record")
    for runtime, items in entries.items():
        pins = pins_by_runtime.get(runtime)
        if pins is None:
            problems.append(f"the record has a section for requirements/{runtime}.txt, which does not exist")
            continue
        for entry in items:
            where = f"requirements/{runtime}.txt: {entry.package} (record line {entry.line})"
            pinned = pins.get(entry.package)
            if entry.unpinned:
                if pinned is not None:
                    problems.append(
                        f"{where} is now pinned at {pinned}; the record was written for it unpinned at "
                        f"{entry.version}: revisit its advisories"
                    )
            elif pinned is None:
                problems.append(f"{where} is named in the record but no longer pinned")
            elif pinned != entry.version:
                problems.append(
                    f"{where} is pinned at {pinned}, the record was written for {entry.version}: revisit its advisories"
                )
            if entry.upgraded_to is not None and pinned != entry.upgraded_to:
                problems.append(f"{where} says upgraded to {entry.upgraded_to} but is pinned at {pinned}")
        named = {entry.package for entry in items}
        for package in sorted(set(pins) - named):
            problems.append(
                f"requirements/{runtime}.txt pins {package}=={pins[package]}, which the record does not name"
            )
    return problems


def repo_pins() -> dict[str, dict[str, str]]:
    return {path.stem: read_pins(path.read_text()) for path in sorted((REPO / "requirements").glob("*.txt"))}


def test_the_record_matches_every_pin() -> None:
    problems = check_record(RECORD.read_text(encoding="utf-8"), repo_pins())
    assert not problems, "docs/dependencies.md is out of date:\n" + "\n".join(problems)


def test_the_record_states_advisories_for_the_rasa_runtime_candidates() -> None:
    entries, _ = parse_record(RECORD.read_text(encoding="utf-8"))
    in_tables = {entry.package for entry in entries["rasa"] if entry.in_table}
    assert {"aiohttp", "sanic", "tensorflow", "protobuf", "scikit-learn"} <= in_tables


SAMPLE = """\
# Record

## Rasa runtime (`requirements/rasa.txt`)

| package | pinned | advisory | mitigation |
|---|---|---|---|
| aiohttp | 3.9.5 | CVE-1 | cannot upgrade |
| setuptools | 70.3.0 (unpinned) | CVE-2 | cannot upgrade |

```pins
sanic==21.12.2
```

## Notes

| not | a | record | row |
"""


def test_a_sample_record_that_matches_its_pins_passes() -> None:
    assert check_record(SAMPLE, {"rasa": {"aiohttp": "3.9.5", "sanic": "21.12.2"}}) == []


def test_a_changed_pin_is_reported_with_both_versions() -> None:
    problems = check_record(SAMPLE, {"rasa": {"aiohttp": "3.9.6", "sanic": "21.12.2"}})
    assert len(problems) == 1
    assert "aiohttp" in problems[0] and "3.9.6" in problems[0] and "3.9.5" in problems[0]


def test_a_changed_pin_in_a_pins_block_is_reported() -> None:
    problems = check_record(SAMPLE, {"rasa": {"aiohttp": "3.9.5", "sanic": "22.0.0"}})
    assert len(problems) == 1 and "sanic" in problems[0]


def test_upgraded_to_must_be_the_pinned_version() -> None:
    record = SAMPLE.replace("| CVE-1 | cannot upgrade |", "| CVE-1 | upgraded to 3.9.5 |")
    assert check_record(record, {"rasa": {"aiohttp": "3.9.5", "sanic": "21.12.2"}}) == []
    wrong = SAMPLE.replace("| CVE-1 | cannot upgrade |", "| CVE-1 | upgraded to 3.10.11 |")
    problems = check_record(wrong, {"rasa": {"aiohttp": "3.9.5", "sanic": "21.12.2"}})
    assert len(problems) == 1 and "upgraded to 3.10.11" in problems[0]


def test_a_new_pin_must_be_recorded() -> None:
    problems = check_record(SAMPLE, {"rasa": {"aiohttp": "3.9.5", "sanic": "21.12.2", "numpy": "1.23.5"}})
    assert problems == ["requirements/rasa.txt pins numpy==1.23.5, which the record does not name"]


def test_a_dropped_pin_is_reported() -> None:
    problems = check_record(SAMPLE, {"rasa": {"aiohttp": "3.9.5"}})
    assert len(problems) == 1 and "sanic" in problems[0] and "no longer pinned" in problems[0]


def test_an_unpinned_package_that_gets_pinned_is_reported() -> None:
    problems = check_record(SAMPLE, {"rasa": {"aiohttp": "3.9.5", "sanic": "21.12.2", "setuptools": "80.0.0"}})
    assert len(problems) == 1 and "setuptools" in problems[0] and "80.0.0" in problems[0]


def test_a_runtime_without_a_section_is_reported() -> None:
    problems = check_record(SAMPLE, {"rasa": {"aiohttp": "3.9.5", "sanic": "21.12.2"}, "actions": {}})
    assert problems == ["requirements/actions.txt has no section in the record"]


def test_unreadable_lines_are_reported_not_skipped() -> None:
    record = SAMPLE.replace("sanic==21.12.2", "sanic 21.12.2").replace("| aiohttp | 3.9.5 |", "| aiohttp | |")
    problems = check_record(record, {"rasa": {}})
    assert any("name==version" in problem for problem in problems)
    assert any("package and its pinned version" in problem for problem in problems)


def test_pins_are_read_like_pip_reads_them() -> None:
    text = "# comment\nPyYAML==6.0.4\npsycopg[binary]==3.3.9  # via x\nruamel.yaml==0.17.21\n"
    assert read_pins(text) == {"pyyaml": "6.0.4", "psycopg": "3.3.9", "ruamel-yaml": "0.17.21"}
