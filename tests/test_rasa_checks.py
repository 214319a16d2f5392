"""Rasa checks: the training data validates, and the test conversations pass end to end.

Rasa 3.6 lives in its own Python 3.10 environment (.venv-rasa), so both checks run its CLI as a
subprocess from the repository root, with the same environment variables as ``bin/bot``.

``rasa test core`` only runs the NLU on the user texts of tests/stories with ``--e2e``; without it
the intents written in the stories are taken as given. ``--fail-on-prediction-errors`` is not used:
it stops at the first wrong prediction and then writes no ``failed_test_stories.yml``. Instead every
story is evaluated, and the test fails when the story report counts a failed conversation, showing
all failed stories at once.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from bot.runtime import child_environment

ROOT = Path(__file__).resolve().parents[1]
RASA_VENV = Path(os.environ.get("RIS3_RASA_VENV", ROOT / ".venv-rasa"))
RASA = RASA_VENV / "bin" / "rasa"
MODEL = ROOT / "models" / "ris3.tar.gz"
STORIES = ROOT / "tests" / "stories"
TIMEOUT_S = 600
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def require(*paths: Path) -> None:
    """Skip when setup has not run; ``bin/bot setup`` creates all of these."""
    for path in paths:
        if not path.exists():
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            pytest.skip(f"{shown} is missing: run `bin/bot setup` first")


def run_rasa(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the Rasa CLI from the repository root; stdout and stderr are merged."""
    started = time.monotonic()
    try:
        result = subprocess.run(
            [str(RASA), *args],
            cwd=ROOT,
            env=child_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`rasa {' '.join(args)}` did not finish within {TIMEOUT_S} s\n{tail(exc.output)}")
    print(f"`rasa {' '.join(args[:2])}` took {time.monotonic() - started:.1f} s")
    return result


def tail(output: str | bytes | None, lines: int = 40) -> str:
    """The last lines of a command's output, without colour codes."""
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    text = ANSI_ESCAPE.sub("", output or "")
    return "\n".join(text.rstrip().splitlines()[-lines:])


def test_rasa_data_validate() -> None:
    require(RASA)
    result = run_rasa("data", "validate", "--domain", "domain.yml", "--data", "data", "--config", "config.yml")
    assert result.returncode == 0, f"`rasa data validate` exited with {result.returncode}:\n{tail(result.stdout)}"


def test_conversation_stories(tmp_path: Path) -> None:
    require(RASA, MODEL, STORIES)
    out = tmp_path / "results"
    result = run_rasa(
        "test",
        "core",
        "--stories",
        str(STORIES.relative_to(ROOT)),
        "--model",
        str(MODEL.relative_to(ROOT)),
        "--e2e",
        "--no-plot",
        "--out",
        str(out),
    )
    assert result.returncode == 0, f"`rasa test core` exited with {result.returncode}:\n{tail(result.stdout)}"

    report_file = out / "story_report.json"
    assert report_file.is_file(), f"no story report was written:\n{tail(result.stdout)}"
    conversations = json.loads(report_file.read_text(encoding="utf-8")).get("conversation_accuracy")
    assert conversations and conversations["total"] > 0, (
        f"no test stories were evaluated (are they in {STORIES.relative_to(ROOT)}/test_*.yml?)\n{tail(result.stdout)}"
    )

    failed_file = out / "failed_test_stories.yml"
    failed = failed_file.read_text(encoding="utf-8") if failed_file.is_file() else "(no file written)"
    assert conversations["correct"] == conversations["total"], (
        f"{conversations['total'] - conversations['correct']} of {conversations['total']} test "
        f"stories failed (`# predicted:` marks each wrong prediction):\n{failed}"
    )
