"""bot.rasa_server: Rasa's command with the action reply checked by a compiled validator and event classes
looked up in a table. Run in the Rasa runtime (Python 3.10), where Rasa is: every reply must be accepted or
refused exactly as Rasa's own check does, with the same error, and every event name resolved alike."""

from __future__ import annotations

import json
import subprocess

from bot.runtime import PROJECT_ROOT, RASA_VENV

PROBE = r"""
import json
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

original = RemoteAction._validate_action_result
original_resolve = Event.resolve_by_type
from bot import rasa_server
rasa_server.install()
patched = RemoteAction._validate_action_result
patched_resolve = Event.resolve_by_type
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
    {"events": [{"event": "slot", "name": "last_decision", "value": {"answered": True, "score": 0.93}},
                {"event": "bot", "text": "x", "data": {"buttons": []}, "metadata": {}},
                {"event": "action", "name": "action_listen", "policy": None, "confidence": None},
                {"event": "active_loop", "name": None}, {"event": "followup", "name": "action_x"},
                {"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet", "confidence": 1.0},
                 "entities": [{"entity": "language", "value": "fi", "start": 0, "end": 2}],
                 "response_selector": {"all_retrieval_intents": []}}},
                {"event": "entities", "entities": [{"entity": "e", "value": 1}]},
                {"event": "session_started", "timestamp": None}, {"event": "restart"}, {"event": "reminder"}],
     "responses": []},
    {"events": [{"event": "user", "parse_data": {"intent": {"name": 5}}}]},
    {"events": [{"event": "user", "parse_data": {"response_selector": {"x": {"ranking": "no"}}}}]},
    {"events": [{"event": 123}]},
    {"events": [{"event": "slot", "name": "x"}]},
    {"events": [{"event": "slot", "name": "x", "value": 1, "metadata": []}]},
    {"events": [{"event": "bot"}, {"name": "no event"}, {"event": "bot"}]},
    {"events": [{"event": "entities", "entities": [{"entity": "e"}]}]},
    {"events": [None]},
    {"events": None},
    [],
    "text",
    None,
]

# Random replies around the valid ones: every event type, fields of every kind of value, some left out.
import random
rng = random.Random(7)
names = ["user", "action", "slot", "entities", "user_featurization", "cancel_reminder", "reminder",
         "action_execution_rejected", "form_validation", "loop_interrupted", "form", "active_loop",
         "reset_slots", "resume", "pause", "followup", "export", "restart", "undo", "rewind", "bot",
         "session_started", "agent", "no_such", ""]
values = [None, 0, 1.5, True, "s", [], [{"entity": "e", "value": 1}], {}, {"name": "n"}, {"intent": {"name": 1}},
          {"intent": {"name": "i", "confidence": 0.5}, "entities": [], "intent_ranking": [{"name": "i"}]}]
fields = ["name", "value", "text", "timestamp", "metadata", "policy", "confidence", "entities", "parse_data",
          "input_channel", "message_id", "hide_rule_turn", "action_text"]
def random_event():
    event = {"event": rng.choice(names)} if rng.random() < 0.95 else {}
    for field in rng.sample(fields, rng.randint(0, 4)):
        event[field] = rng.choice(values)
    return event
randomised = [{"events": [random_event() for _ in range(rng.randint(0, 4))], "responses": []} for _ in range(3000)]

# What jsonschema.validate does after re-checking the schema (Rasa's method costs that check each time,
# too slow for 3,000 replies; the cases above compare with Rasa's method itself).
from jsonschema import exceptions
from jsonschema.validators import validator_for
schema = RemoteAction.action_response_format_spec()
reference = validator_for(schema)(schema)
def reference_error(case):
    error = exceptions.best_match(reference.iter_errors(case))
    return None if error is None else error.message
def patched_error(case):
    error = rasa_server._reply_check().error(case)
    return None if error is None else error.message

def outcome(method, case):
    try:
        return ["ok", method(action, json.loads(json.dumps(case)))]
    except ValidationError as error:
        return ["refused", error.message]

def resolved(method, name, default=None):
    try:
        return repr(method(name, default))
    except ValueError as error:
        return str(error)

names = sorted({c.type_name for c in all_subclasses(Event)} | {"topic", "no_such_event", ""})
print(json.dumps({
    "installed": patched is rasa_server._validate_action_result and original is not patched
    and patched_resolve is rasa_server._resolve_event_type,
    "events_resolved_differently": [
        [name, resolved(original_resolve, name), resolved(patched_resolve, name)] for name in names
        if resolved(original_resolve, name) != resolved(patched_resolve, name)
        or resolved(original_resolve, name, Event) != resolved(patched_resolve, name, Event)
    ],
    "event_names": len(names),
    "same": [outcome(original, c) == outcome(patched, c) for c in cases],
    "refused": [outcome(patched, c)[0] == "refused" for c in cases[:8]],
    "by_parts": rasa_server._reply_check().by_parts is not None,
    "parts_verdict_same": [
        rasa_server._reply_check()._parts_valid(c) == (outcome(original, c)[0] == "ok") for c in cases
    ] + [rasa_server._reply_check()._parts_valid(c) == (reference_error(c) is None) for c in randomised],
    "random_same": [reference_error(c) == patched_error(c) for c in randomised],
    "random_valid": sum(reference_error(c) is None for c in randomised),
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
    assert result["event_names"] > 20 and result["events_resolved_differently"] == []
    assert result["refused"] == [False, False, False, True, True, True, True, True]
    assert result["by_parts"]  # Rasa's schema has the shape the quick check relies on
    assert all(result["parts_verdict_same"])  # the quick verdict alone equals Rasa's, case by case
    assert all(result["random_same"])  # and the same error for each random reply
    assert 300 < result["random_valid"] < 2700  # the random replies hold both kinds


def test_it_is_rasas_command_line() -> None:
    done = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-m", "bot.rasa_server", "--version"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Rasa Version" in done.stdout and "3.6" in done.stdout


SKOPS_PROBE = r"""
import json, sys, tempfile
from pathlib import Path
import sklearn.utils
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier
every_estimator = sklearn.utils.all_estimators
from bot import rasa_server
rasa_server._import_skops_trusting_the_classifier_only()
import skops.io as sio
from skops.io import _trusted_types

folder = Path(tempfile.mkdtemp())
def untrusted(estimator):
    path = folder / (type(estimator).__name__ + ".skops")
    sio.dump(estimator.fit([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]], [0, 1, 0, 1]), path)
    found = sio.get_untrusted_types(file=path)
    loaded = sio.load(path, trusted=found) if not found else None
    return found, None if loaded is None else loaded.predict([[1.0, 0.0]]).tolist()

print(json.dumps({
    "trusted": _trusted_types.SKLEARN_ESTIMATOR_TYPE_NAMES,
    "restored": sklearn.utils.all_estimators is every_estimator,
    "logistic": untrusted(LogisticRegression()),
    "tree": untrusted(DecisionTreeClassifier()),
}))
"""


def test_skops_trusts_the_nlu_classifier_and_no_other_estimator() -> None:
    done = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-c", SKOPS_PROBE],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["trusted"] == ["sklearn.linear_model._logistic.LogisticRegression"]
    assert result["restored"]
    assert result["logistic"] == [[], [1]]  # nothing untrusted: Rasa loads it, and it predicts
    found, predicted = result["tree"]
    assert predicted is None and any("DecisionTreeClassifier" in name for name in found)  # Rasa refuses it
