"""Checking an action server's reply against Rasa's response schema with the same verdicts as Rasa's check,
at a fraction of its cost.

Rasa's schema says each event of a reply is `oneOf` 23 event types, each told apart by a constant `event`
name. jsonschema tries every event of a reply against all 23 (and, through `best_match(iter_errors(…))`,
collects every failure): 10.5 % of the Rasa server's time under load (docs/profile.md). Here a reply is
first checked against the schema without that `oneOf`, and each event against the one type its name
selects. That is the same verdict: the outer schema requires `event` as a string and the types' names are
distinct constants, so every other type fails on its constant, and `oneOf` holds exactly when the selected
type does. A reply that fails is checked again with Rasa's whole schema, which gives Rasa's own error.
If Rasa's schema ever stops having that shape, every reply takes the whole check.

Runs in the Rasa runtime (Python 3.10).
"""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import exceptions
from jsonschema.validators import validator_for


class ReplyCheck:
    def __init__(self, schema: dict[str, Any]) -> None:
        validator_class = validator_for(schema)
        validator_class.check_schema(schema)  # once; jsonschema.validate repeats it on every call
        self.whole = validator_class(schema)
        self.by_parts = _by_event_name(schema, validator_class)

    def error(self, reply: Any) -> exceptions.ValidationError | None:
        """None when the reply is valid, else the error Rasa's check reports."""
        if self.by_parts is not None and self._parts_valid(reply):
            return None
        return exceptions.best_match(self.whole.iter_errors(reply))

    def _parts_valid(self, reply: Any) -> bool:
        outer, types = self.by_parts  # type: ignore[misc]
        if not outer.is_valid(reply):
            return False
        for event in reply.get("events") or ():  # valid outer: a list of objects with a string "event"
            event_type = types.get(event["event"])
            if event_type is None or not event_type.is_valid(event):
                return False
        return True


def _by_event_name(schema: dict[str, Any], validator_class: Any) -> tuple[Any, dict[str, Any]] | None:
    """(the schema without the events' oneOf, {event name: its type's validator}), or None if the schema is
    not of the shape that makes checking by parts give the whole check's verdict."""
    events = schema.get("properties", {}).get("events")
    if not isinstance(events, dict) or events.get("type") != "array" or not isinstance(events.get("items"), dict):
        return None
    item = events["items"]
    types = item.get("oneOf")
    if (
        not isinstance(types, list)
        or "event" not in item.get("required", ())
        or item.get("properties", {}).get("event") != {"type": "string"}
        or set(item) - {"type", "properties", "required", "oneOf"}
        or item.get("type") != "object"
    ):
        return None
    names = [t.get("properties", {}).get("event", {}).get("const") if isinstance(t, dict) else None for t in types]
    if not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
        return None
    outer = copy.deepcopy(schema)
    del outer["properties"]["events"]["items"]["oneOf"]
    return validator_class(outer), {name: validator_class(t) for name, t in zip(names, types, strict=True)}
