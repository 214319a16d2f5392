"""bot.rasa_server: Rasa's command with the action reply checked by a compiled validator. Run in the Rasa
runtime (Python 3.10), where Rasa is: every reply must be accepted or refused exactly as Rasa's own check
does, with the same error."""

from __future__ import annotations

import json
import subprocess

from bot.runtime import PROJECT_ROOT, RASA_VENV

PROBE = r"""
import json
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

original = RemoteAction._validate_action_result
from bot import rasa_server
rasa_server.install()
patched = RemoteAction._validate_action_result
action = RemoteAction("action_answer", None)

cases = [
    {"events": [{"event": "slot", "name": "language", "value": "fi"}], "responses": [{"text": "Hei"}]},
    {"events": [], "responses": [{"text": None, "buttons": [{"title": "A", "payload": "/a"}], "answer": "x"}]},
    {},
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "x"}]},
    {"events": [{"event": "slot", "name": "x", "value": 1, "timestamp": "yesterday"}]},
    {"responses": "text"},
]

def outcome(method, case):
    try:
        return ["ok", method(action, json.loads(json.dumps(case)))]
    except ValidationError as error:
        return ["refused", error.message]

print(json.dumps({
    "installed": patched is rasa_server._validate_action_result and original is not patched,
    "same": [outcome(original, c) == outcome(patched, c) for c in cases],
    "refused": [outcome(patched, c)[0] == "refused" for c in cases],
}))
"""


def test_the_compiled_validator_accepts_and_refuses_as_rasa_does() -> None:
    done = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-c", PROBE], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["installed"]
    assert all(result["same"]), result
    assert result["refused"] == [False, False, False, True, True, True, True, True]


def test_it_is_rasas_command_line() -> None:
    done = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-m", "bot.rasa_server", "--version"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Rasa Version" in done.stdout and "3.6" in done.stdout
