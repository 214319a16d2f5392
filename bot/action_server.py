"""The action server: rasa-sdk's, but listening on loopback by default and answering only Rasa.

rasa-sdk listens on every interface and runs any action for anyone who can reach it: a forged request to
/webhook could create a handoff ticket (a made-up name, question and transcript) and e-mail the project
manager. Here every request but GET /health must carry `Authorization: Bearer <RIS3_ACTION_TOKEN>`, which
Rasa sends from endpoints.yml (`action_endpoint.headers`), and the server binds to RIS3_ACTION_HOST
(default 127.0.0.1). With several hosts (docs/deploy.md) set RIS3_ACTION_HOST=0.0.0.0 and the same token on
every Rasa server and action server.

    python -m bot.action_server --actions actions -p 5055

Runs in the action runtime (Python 3.11, rasa-sdk, Sanic).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from functools import partial

from rasa_sdk import utils
from rasa_sdk.constants import DEFAULT_SERVER_PORT
from rasa_sdk.endpoint import create_app_for_serve
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

from bot.bearer import bearer_matches
from bot.http_framing.sanic_protocols import GuardedHttpProtocol
from bot.metrics import actions as action_metrics

logger = logging.getLogger(__name__)

TOKEN_ENV = "RIS3_ACTION_TOKEN"
# The token being replaced, accepted too while the Rasa servers move to the new one (docs/operations.md).
PREVIOUS_TOKEN_ENV = "RIS3_ACTION_TOKEN_PREVIOUS"
HOST_ENV = "RIS3_ACTION_HOST"
DEFAULT_HOST = "127.0.0.1"
MIN_TOKEN_CHARS = 16
OPEN_PATHS = frozenset({"/health"})  # for wait loops and load balancers; says nothing but "ok"
# Checked by its own route against RIS3_METRICS_TOKEN (bot/metrics/).
OWN_TOKEN_PATHS = frozenset({action_metrics.METRICS_PATH})


def create_app(actions_package: str, token: str) -> Sanic:
    """rasa-sdk's app (module level: Sanic's AppLoader builds it again in each worker) behind the token."""
    # Here, not only in main(): a worker is a fresh process, and without this its INFO lines (the knowledge
    # loaded, an index switched) were dropped.
    utils.configure_colored_logging("INFO")
    executor = ActionExecutor()
    executor.register_package(actions_package)
    # No CORS: only Rasa, a server, calls this; a browser page has no business here.
    app = create_app_for_serve(executor, cors_origins=None)
    previous = (os.environ.get(PREVIOUS_TOKEN_ENV) or "").strip()
    tokens = (token, previous) if len(previous) >= MIN_TOKEN_CHARS else (token,)

    @app.on_request
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS or request.path in OWN_TOKEN_PATHS:
            return None
        if not any(bearer_matches(accepted, request.headers.get("authorization")) for accepted in tokens):
            logger.warning("action server: a request to %s without the right token refused", request.path)
            return response.json({"error": "unauthorised"}, status=401)
        return None

    action_metrics.install(app)
    return app


def read_token(environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    token = (environ.get(TOKEN_ENV) or "").strip()
    if len(token) < MIN_TOKEN_CHARS:
        raise SystemExit(
            f"action server: set {TOKEN_ENV} to a random secret of at least {MIN_TOKEN_CHARS} characters, the same"
            " one the Rasa server sends (endpoints.yml); `bin/bot run` makes one in var/action.token"
        )
    return token


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="the RIS3 assistant's action server (rasa-sdk behind a token)")
    parser.add_argument("--actions", default="actions", help="the package of the custom actions")
    parser.add_argument("-p", "--port", type=int, default=DEFAULT_SERVER_PORT)
    parser.add_argument("--host", default=os.environ.get(HOST_ENV) or DEFAULT_HOST)
    args = parser.parse_args(argv)
    token = read_token()
    utils.update_sanic_log_level()
    loader = AppLoader(factory=partial(create_app, args.actions, token))
    app = loader.load()
    # Sanic's own parser behind the framing check (docs/security.md, "The HTTP layer").
    app.prepare(
        host=args.host, port=args.port, workers=utils.number_of_sanic_workers(), protocol=GuardedHttpProtocol
    )
    logger.info("action server on http://%s:%s (requests need the token)", args.host, args.port)
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main(sys.argv[1:])
