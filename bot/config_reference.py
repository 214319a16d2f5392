"""Every environment variable the assistant reads, in one place: docs/configuration.md is generated from it
(`python -m bot.config_reference > docs/configuration.md`), and tests/unit/test_config_reference.py checks it
against the code: every variable the code or bin/bot names is here, every field of the settings classes is
here with its default taken from the class, and the page is what this module prints.

Who reads a variable: rasa (the Rasa server and its channels), actions (the action server), web (the back
office, `bot web`), cli (`bin/bot …` commands), deploy (docker-compose, HAProxy and the endpoints file only).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    readers: str
    meaning: str
    secret: bool = False


# The settings classes: their defaults come from the classes; the meanings from here (the test fails on a
# field without one).
SETTINGS_CLASSES = (
    ("bot.settings", "Settings", "actions, cli"),
    ("bot.handoff.config", "HandoffSettings", "actions, web, cli"),
    ("bot.web.config", "WebSettings", "web"),
)

MEANINGS: dict[str, str] = {
    # bot/settings.py
    "RIS3_KNOWLEDGE_DIR": "the knowledge folder (sources, facts, FAQ); Review writes here: a shared volume in a"
    " deployment",
    "RIS3_INDEX_DIR": "the built index; rebuilt by `bin/bot knowledge build` or Review, switched in without a"
    " restart",
    "RIS3_EMBEDDING_MODEL": "a sentence-transformers model folder (prepared by `make setup`) or name",
    "RIS3_RASA_URL": "the Rasa server as seen from this process: `bin/bot ask` talks to it, the back office pushes"
    " the project manager's replies to it (through the balancer)",
    "RIS3_TORCH_THREADS": "threads the embedding may use per process",
    "RIS3_EMBEDDING_BACKEND": "`onnx`, `torch` or `auto`; rebuild the index after switching",
    "RIS3_REVIEW_MODEL_IDLE_SECONDS": "the back office lets Review's grouping model go after this many idle seconds"
    " (0: at once after each grouping)",
    # bot/handoff/config.py
    "RIS3_HANDOFF_DATABASE_URL": "tickets, their threads and outbox, Review's decisions (SQLite file or"
    " `postgresql+psycopg://…`)",
    "RIS3_HANDOFF_RETENTION_DAYS": "personal data of tickets and whole conversations older than this are erased"
    " (daily by the back office, or `bin/bot handoff purge`)",
    "RIS3_TRACKER_DATABASE_URL": "Rasa's tracker store, for the retention purge, Insights and Review; the same"
    " database as the endpoints file's `tracker_store`",
    "RIS3_HANDOFF_SMTP_HOST": "e-mail notifications: the SMTP server (all of host, from, manager e-mail, or none)",
    "RIS3_HANDOFF_SMTP_PORT": "the SMTP server's port",
    "RIS3_HANDOFF_SMTP_FROM": "the sender address of the bot's mail",
    "RIS3_HANDOFF_MANAGER_EMAIL": "where new tickets are mailed (the project manager)",
    "RIS3_HANDOFF_SMTP_USERNAME": "SMTP login, if the server wants one",
    "RIS3_HANDOFF_SMTP_PASSWORD": "SMTP password",
    "RIS3_HANDOFF_SMTP_STARTTLS": "`1`: STARTTLS before the login",
    "RIS3_HANDOFF_SMTP_TIMEOUT_SECONDS": "one SMTP delivery's time limit",
    "RIS3_HANDOFF_TELEGRAM_API_BASE": "Telegram's Bot API for the manager's notification (a local Bot API server"
    " instead)",
    "RIS3_HANDOFF_TELEGRAM_TOKEN": "the bot token that sends the manager's Telegram notification",
    "RIS3_HANDOFF_MANAGER_CHAT_ID": "the manager's Telegram chat; his replies there reach the user",
    "RIS3_HANDOFF_WEBHOOK_URL": "a signed JSON webhook per new ticket (with the secret, or not at all)",
    "RIS3_HANDOFF_WEBHOOK_SECRET": "signs the webhook (`X-RIS3-Signature: sha256=…`)",
    "RIS3_HANDOFF_HTTP_TIMEOUT_SECONDS": "one webhook or Telegram delivery's time limit",
    "RIS3_HANDOFF_WORKING_HOURS": "when the user is told to expect the reply",
    "RIS3_HANDOFF_TIMEZONE": "the working hours' time zone",
    "RIS3_HANDOFF_HOLIDAYS_COUNTRY": "public holidays off (ISO country code; empty: none)",
    "RIS3_HANDOFF_EMAIL_REPLIES": "`0`: the manager's reply reaches the user in the chat only, no e-mail copy",
    "RIS3_HANDOFF_MAX_ATTEMPTS": "deliveries tried this many times, then marked failed",
    "RIS3_HANDOFF_BACKOFF_BASE_SECONDS": "the first retry's wait, doubling",
    "RIS3_HANDOFF_BACKOFF_MAX_SECONDS": "the longest wait between retries",
    # bot/web/config.py
    "RIS3_WEB_HOST": "where the back office listens (behind the TLS proxy)",
    "RIS3_WEB_PORT": "its port",
    "RIS3_WEB_MANAGER_USER": "the built-in account (the project manager's): every role until an admin account"
    " exists, then tickets only (docs/staff.md); more accounts with `bin/bot accounts`",
    "RIS3_WEB_MANAGER_PASSWORD_HASH": "its password's argon2 hash (`bin/bot web hash-password`)",
    "RIS3_WEB_API_TOKEN": "for scripts: `Authorization: Bearer` on /api/ (tickets, review, insights, privacy; not"
    " accounts) in the built-in account's name (32+ characters)",
    "RIS3_WEB_SECRET_KEY": "a Fernet key (`Fernet.generate_key()`) that encrypts the session cookies; unset: made"
    " once in the key file",
    "RIS3_WEB_SECRET_KEY_FILE": "where that key is made and kept when RIS3_WEB_SECRET_KEY is unset",
    "RIS3_WEB_INSECURE_COOKIES": "`1` only for plain-http development (cookies lose Secure)",
    "RIS3_WEB_SESSION_MAX_AGE_SECONDS": "a sign-in lasts this long",
    "RIS3_WEB_ALLOWED_ORIGINS": "other origins from which browsers may POST (comma-separated)",
    "RIS3_WEB_WIDGET_SERVER": "the public address of the chat (the proxy, e.g. `https://bot.example.fi`), for the"
    " demo pages' widget and their CSP",
    "RIS3_WEB_PUBLIC_URL": "where browsers reach the back office; https turns on Strict-Transport-Security",
    "RIS3_WEB_LOGIN_DELAY_SECONDS": "every failed sign-in waits this long",
    "RIS3_WEB_LOGIN_MAX_FAILURES_PER_ADDRESS": "failed sign-ins from one address before a lockout",
    "RIS3_WEB_LOGIN_MAX_FAILURES_PER_ACCOUNT": "failed sign-ins for one user name before a lockout",
    "RIS3_WEB_LOGIN_FAILURE_WINDOW_SECONDS": "the window those failures are counted in",
    "RIS3_WEB_LOGIN_LOCKOUT_SECONDS": "the first lockout, doubling",
    "RIS3_WEB_LOGIN_LOCKOUT_MAX_SECONDS": "the longest lockout",
    "RIS3_WEB_PASSWORD_CHECK_CONCURRENCY": "password checks (argon2, 64 MiB each) at once",
    "RIS3_WEB_PASSWORD_CHECK_QUEUE": "sign-ins waiting for a check; more are turned away (503)",
    "RIS3_WEB_TRUSTED_PROXIES": "proxies whose X-Forwarded-For names the client (addresses or networks)",
    "RIS3_KNOWLEDGE_UPLOAD_MAX_BYTES": "the largest body of a source's new version uploaded on the Knowledge page or"
    " API (a PDF, a saved page); every other back-office route takes 1 MiB (413 beyond)",
    "RIS3_WEB_OUTBOX_INTERVAL_SECONDS": "how often the outbox looks for due deliveries",
    "RIS3_WEB_PURGE_INTERVAL_SECONDS": "how often the retention purge runs",
    "RIS3_WEB_SHUTDOWN_GRACE_SECONDS": "a delivery in flight gets this long when the server stops",
}

# Variables read outside the settings classes (module constants, bin/bot, the channels, deploy/).
OTHER: tuple[Variable, ...] = (
    Variable("RIS3_ACTION_TOKEN", "`var/action.token` (made by `bin/bot run`)", "rasa, actions, web",
             "the secret Rasa sends to the action server (16+ characters); the same everywhere", secret=True),
    Variable("RIS3_ACTION_TOKEN_PREVIOUS", "unset", "actions",
             "while rotating: the old action token, still accepted (docs/operations.md)", secret=True),
    Variable("RIS3_ACTION_HOST", "`127.0.0.1`", "actions", "where the action server listens"),
    Variable("RIS3_ACTION_PORT", "5055", "cli", "the action server's port under `bin/bot run`"),
    Variable("RIS3_RASA_PORT", "5005", "cli", "the Rasa server's port under `bin/bot run`"),
    Variable("RIS3_PRIVACY_FILE", "`privacy.yml`", "rasa, actions, web",
             "what users are told about their data and the privacy statement's address, set by staff"
             " (docs/privacy.md)"),
    Variable("RIS3_TODAY", "unset: today in Finland", "actions",
             "fixes the date the bot measures its knowledge against (YYYY-MM-DD), for tests and demonstrations"
             " (docs/knowledge.md)"),
    Variable("RIS3_RASA_HOST", "`127.0.0.1`", "cli", "where `bin/bot run` makes the Rasa server listen"),
    Variable("RIS3_RASA_API_TOKEN", "unset: Rasa's HTTP API off", "cli",
             "enables Rasa's HTTP API behind `?token=`; conversations hold personal data", secret=True),
    Variable("RIS3_ENDPOINTS", "`endpoints.yml`", "cli", "the endpoints file `bin/bot run` gives Rasa"),
    Variable("RIS3_RASA_VENV", "`.venv-rasa`", "cli", "the Rasa runtime's environment"),
    Variable("RIS3_ACTIONS_VENV", "`.venv-actions`", "cli", "the action runtime's environment"),
    Variable("RIS3_REST_TOKEN", "unset: REST open", "rasa, web, cli",
             "REST needs `Authorization: Bearer <token>`; `bin/bot ask`, the FAQ suite and Review's check send"
             " it", secret=True),
    Variable("RIS3_CHAT_SECRET", "`var/chat.secret` (made at first start)", "rasa",
             "signs the website chat's session ids; the same on every Rasa server", secret=True),
    Variable("RIS3_CHAT_SECRET_PREVIOUS", "unset", "rasa",
             "while rotating: the old chat secret, still accepted for ids it signed", secret=True),
    Variable("RIS3_PUSH_TOKEN", "RIS3_ACTION_TOKEN", "rasa, web",
             "between the back office and the Rasa servers (pushed replies, internal routes)", secret=True),
    Variable("RIS3_METRICS_TOKEN", "unset: /metrics answers 503", "rasa, actions, web",
             "`Authorization: Bearer` for GET /metrics on every server (16+ characters)", secret=True),
    Variable("RIS3_BACKOFFICE_URL", "`http://127.0.0.1:8080`", "rasa", "where the Rasa server reaches the back"
             " office"),
    Variable("RIS3_WIDGET_ALLOWED_ORIGINS", "any", "rasa",
             "sites whose pages may open the website chat (comma-separated, `*` inside a pattern)"),
    Variable("RIS3_SOCKETIO_REDIS_URL", "unset: one process", "rasa",
             "the website chat's rooms shared through Redis; required with several Rasa processes"),
    Variable("RIS3_SOCKETIO_REDIS_CHANNEL", "`ris3-web-chat`", "rasa", "that Redis pub/sub channel"),
    Variable("RIS3_MAX_REQUEST_BYTES", "65536", "rasa", "largest request body (413 beyond)"),
    Variable("RIS3_MAX_MESSAGE_CHARS", "2000", "rasa", "longest message"),
    Variable("RIS3_RATE_CONVERSATION_PER_MINUTE", "30", "rasa", "messages a conversation may send a minute"),
    Variable("RIS3_RATE_CONVERSATION_BURST", "10", "rasa", "and at once"),
    Variable("RIS3_RATE_ADDRESS_PER_MINUTE", "300", "rasa", "messages one client address may send a minute"),
    Variable("RIS3_RATE_ADDRESS_BURST", "60", "rasa", "and at once"),
    Variable("RIS3_RATE_EXEMPT", "`127.0.0.0/8, ::1`", "rasa", "addresses the rate limits leave alone"),
    Variable("RIS3_TRUSTED_PROXIES", "none", "rasa",
             "the balancer or proxy whose X-Forwarded-For names the client (rate limits per address)"),
    Variable("RIS3_TELEGRAM_TOKEN", "unset: the webhook answers 503", "rasa, web", "the Telegram bot's token",
             secret=True),
    Variable("RIS3_TELEGRAM_SECRET", "unset", "rasa, cli",
             "Telegram's webhook secret token (1-256 of A-Z a-z 0-9 _ -)", secret=True),
    Variable("RIS3_TELEGRAM_API_BASE", "`https://api.telegram.org`", "rasa, web, cli", "the Bot API"),
    Variable("RIS3_TELEGRAM_BOT_USERNAME", "unset", "rasa", "the bot's @name, for mentions and links in groups"),
    Variable("RIS3_TELEGRAM_MAX_RETRY_WAIT", "60", "rasa", "a Telegram 429 is waited out up to this many seconds"),
    Variable("SANIC_WORKERS", "1", "rasa", "Rasa's workers per server (above 1 needs the Redis lock store)"),
    Variable("ACTION_SERVER_SANIC_WORKERS", "1", "actions", "action server workers (each loads the model)"),
    Variable("TICKET_LOCK_LIFETIME", "60", "rasa", "seconds a dead server's conversation lock lasts"),
    Variable("LOG_LEVEL", "`INFO`", "rasa", "the level of the project's loggers under Rasa"),
    Variable("PROMETHEUS_MULTIPROC_DIR", "unset: one process", "rasa, actions",
             "an empty folder per server when it runs several workers: the scrape adds the workers up"),
    Variable("RIS3_DB_HOST", "`postgres`", "deploy", "the PostgreSQL host in deploy/endpoints.yml"),
    Variable("RIS3_DB_USER", "`ris3`", "deploy", "PostgreSQL user (compose and the endpoints file)"),
    Variable("RIS3_DB_PASSWORD", "none", "deploy", "PostgreSQL password", secret=True),
    Variable("RIS3_TRACKER_DB", "`ris3`", "deploy", "the tracker store's database name"),
    Variable("RIS3_REDIS_HOST", "`redis`", "deploy", "the lock store's Redis host in deploy/endpoints.yml"),
    Variable("RIS3_LB_RASA_BIND", "none", "deploy", "HAProxy: where the Rasa frontend listens"),
    Variable("RIS3_LB_ACTIONS_BIND", "none", "deploy", "HAProxy: where the actions frontend listens"),
    Variable("RIS3_LB_RASA_1", "none", "deploy", "HAProxy: the first Rasa server (`host:port`)"),
    Variable("RIS3_LB_RASA_2", "none", "deploy", "HAProxy: the second Rasa server"),
    Variable("RIS3_LB_ACTIONS_1", "none", "deploy", "HAProxy: the first action server"),
    Variable("RIS3_LB_ACTIONS_2", "none", "deploy", "HAProxy: the second action server"),
    Variable("RIS3_LB_STATS_SOCKET", "none", "deploy", "HAProxy's runtime API socket"),
    Variable("RIS3_TLS_BIND", "none", "deploy", "deploy/tls-proxy.cfg: the public address (`:443`)"),
    Variable("RIS3_TLS_CERT", "none", "deploy", "deploy/tls-proxy.cfg: certificate and key in one PEM file"),
    Variable("RIS3_TLS_CHAT", "none", "deploy", "deploy/tls-proxy.cfg: the balancer's Rasa frontend (`host:port`)"),
    Variable("RIS3_TLS_BACKOFFICE", "none", "deploy", "deploy/tls-proxy.cfg: the back office (`host:port`)"),
)


def _field_variables() -> list[Variable]:
    import importlib

    variables = []
    for module, name, readers in SETTINGS_CLASSES:
        cls: type[BaseSettings] = getattr(importlib.import_module(module), name)
        prefix = cls.model_config.get("env_prefix", "")
        for field_name, field in cls.model_fields.items():
            alias = field.validation_alias
            choices = getattr(alias, "choices", None)
            env = str(choices[0]) if choices else f"{prefix}{field_name}".upper()
            annotation = str(field.annotation)
            variables.append(
                Variable(
                    env, render_default(field.get_default(call_default_factory=True)), readers,
                    MEANINGS.get(env, ""), secret="SecretStr" in annotation,
                )
            )
    return variables


def render_default(value: Any) -> str:
    """A default as the table shows it: paths under the installation relative to it, secrets never."""
    from bot.settings import PROJECT_ROOT

    if value is None or value == "" or value == []:
        return "unset"
    if isinstance(value, SecretStr):
        return "(secret)"
    text = str(value).replace(str(PROJECT_ROOT) + "/", "")
    if isinstance(value, bool):
        text = "1" if value else "0"
    return f"`{text}`"


def all_variables() -> list[Variable]:
    """Each variable once; one read by several classes (RIS3_RASA_URL) keeps every reader."""
    merged: dict[str, Variable] = {}
    for variable in [*_field_variables(), *OTHER]:
        known = merged.get(variable.name)
        if known is None:
            merged[variable.name] = variable
            continue
        readers = ", ".join(dict.fromkeys([*known.readers.split(", "), *variable.readers.split(", ")]))
        default = known.default if known.default == variable.default else f"{known.default} / {variable.default}"
        merged[variable.name] = Variable(known.name, default, readers, known.meaning, known.secret or variable.secret)
    return sorted(merged.values(), key=lambda v: (v.readers.startswith("deploy"), v.name))


def markdown() -> str:
    rows = [
        "# Configuration",
        "",
        "Every environment variable the assistant reads, generated from the code by",
        "`.venv-actions/bin/python -m bot.config_reference > docs/configuration.md` (a test fails when this page,",
        "the settings classes and the code disagree). A complete, loadable example for a deployment is",
        "[deploy/env.example](../deploy/env.example); how to set secrets and rotate them is in",
        "[operations.md](operations.md).",
        "",
        "Readers: **rasa** the Rasa server and its channels, **actions** the action server, **web** the back",
        "office (`bin/bot web`), **cli** `bin/bot` commands, **deploy** only the files in deploy/. A variable marked",
        "🔒 is a secret: keep it in the secret store, never in git or in a log.",
        "",
        "| variable | default | read by | what it does |",
        "|---|---|---|---|",
    ]
    for variable in all_variables():
        lock = " 🔒" if variable.secret else ""
        rows.append(f"| `{variable.name}`{lock} | {variable.default} | {variable.readers} | {variable.meaning} |")
    rows.append("")
    return "\n".join(rows)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    text = markdown()
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
