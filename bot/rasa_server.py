"""The `rasa` command with two costs removed: run the Rasa server as `python -m bot.rasa_server run …`.

Measured with py-spy on this machine (docs/profile.md):

- Rasa 3.6 checks every action server reply against its JSON schema with `jsonschema.validate`, which first
  validates the schema itself against the draft 2020-12 metaschema, on every call: 70 % of the Rasa
  server's time for a greeting, about 40 ms of every message that calls the action server. Here the schema
  is checked once and the compiled validator is kept; every reply is still validated against the same
  schema and a bad one is refused with Rasa's own error, as before.
- Turning each stored event back into an object (the whole conversation, on every message) looks its class
  up by walking every subclass of `Event`: 5 % of the server's time. Here the classes are looked up in a
  table made once (and again for a name it does not know), with Rasa's answers for unknown names.
- Loading the NLU's LogisticRegressionClassifier imports skops, whose first import lists every scikit-learn
  estimator to trust (`sklearn.utils.all_estimators`, importing all of scikit-learn): 3.6 s of a 12 s start.
  The only estimator that component stores is LogisticRegression, so here skops is imported trusting that
  one: the saved classifier loads as before, and a file holding any other estimator is refused.
- Python's garbage collector ran 1.2 s of full collections while the server started (each walking every
  object loaded so far, 40–270 ms apiece): `run` starts with it off; once the model is loaded the loaded
  objects are frozen out of later collections and it is turned on (bot/gc_freeze.py).

And one guard added: Sanic 21.12 (pinned by Rasa 3.6) reads request bodies with its own framing rules, and a
request with `Content-Length: -1` sent its body reader into an endless loop that held the event loop and
so every user. The server runs with Sanic's protocol behind bot/http_framing, which refuses any request whose
framing is not valid HTTP/1.1 with a 400 before Sanic reads it (docs/security.md, "The HTTP layer").

Everything else is Rasa's command line unchanged (`rasa run`, `rasa shell`, `rasa train`, …).
Runs in the Rasa runtime (Python 3.10).
"""

from __future__ import annotations

import functools
import gc
import sys
from typing import Any


@functools.lru_cache(maxsize=1)
def _reply_check() -> Any:
    from rasa.core.actions.action import RemoteAction

    from bot.action_reply_check import ReplyCheck

    return ReplyCheck(RemoteAction.action_response_format_spec())


def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result: the same verdicts, the same errors and message, faster."""
    from rasa.shared.constants import DOCS_BASE_URL

    error = _reply_check().error(result)
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from the Action "
        f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


_event_classes: dict[str, Any] = {}


def _resolve_event_type(type_name: str, default: Any = None) -> Any:
    """Event.resolve_by_type: the first subclass with that type name, as Rasa's walk finds it."""
    global _event_classes
    found = _event_classes.get(type_name)
    if found is None:
        from rasa.shared.core.events import Event
        from rasa.shared.utils.common import all_subclasses

        classes: dict[str, Any] = {}
        for cls in all_subclasses(Event):
            classes.setdefault(cls.type_name, cls)
        _event_classes = classes
        found = classes.get(type_name)
    if found is not None:
        return found
    if type_name == "topic":
        return None  # Rasa's answer for the old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def _freezing_after(load_agent: Any) -> Any:
    """rasa.core.run.load_agent_on_start, then the loaded server's objects frozen out of the collector."""

    @functools.wraps(load_agent)
    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        from bot.gc_freeze import freeze_loaded_objects

        try:
            return await load_agent(*args, **kwargs)
        finally:
            freeze_loaded_objects("Rasa server")

    return load_agent_on_start


def _import_skops_trusting_the_classifier_only() -> None:
    """Imports skops.io with LogisticRegression as the only scikit-learn estimator it trusts by default."""
    import sklearn.utils
    from sklearn.linear_model import LogisticRegression

    every_estimator = sklearn.utils.all_estimators
    # skops.io._trusted_types calls it once, at import, through the name it imports from sklearn.utils
    sklearn.utils.all_estimators = lambda *_, **__: [("LogisticRegression", LogisticRegression)]
    try:
        import skops.io  # noqa: F401
    finally:
        sklearn.utils.all_estimators = every_estimator


def _guarding_framing(run: Any) -> Any:
    """Sanic.run with the protocol Sanic would choose put behind the framing check."""

    @functools.wraps(run)
    def run_guarded(self: Any, *args: Any, protocol: Any = None, **kwargs: Any) -> Any:
        from bot.http_framing.sanic_protocols import guarded

        return run(self, *args, protocol=guarded(protocol, websocket=self.websocket_enabled), **kwargs)

    run_guarded.guards_framing = True  # type: ignore[attr-defined]
    return run_guarded


def install() -> None:
    import rasa.core.run
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import Event
    from sanic import Sanic

    if not getattr(Sanic.run, "guards_framing", False):
        Sanic.run = _guarding_framing(Sanic.run)  # type: ignore[method-assign]

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_resolve_event_type)  # type: ignore[method-assign]
    # serve_application looks the listener up by this name when it registers it
    rasa.core.run.load_agent_on_start = _freezing_after(rasa.core.run.load_agent_on_start)


def main(argv: list[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["run"]:
        # Until the model is loaded (see above); Rasa's imports come first. With several Sanic workers each
        # worker turns it on after loading; the parent that only forks and waits keeps it off.
        gc.disable()
        _import_skops_trusting_the_classifier_only()
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *arguments]
    rasa_main()


if __name__ == "__main__":
    main()
