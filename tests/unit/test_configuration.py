"""docs/configuration.md against the code, and deploy/env.example filled in as its comments say and loaded by
every settings class and every reader of the environment."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet
from dotenv import dotenv_values

from bot.config_reference import MEANINGS, OTHER, all_variables, markdown
from bot.settings import PROJECT_ROOT

NAMED = re.compile(r"\b(RIS3_[A-Z0-9_]*[A-Z0-9])\b")
# Read by Rasa, Sanic or prometheus_client themselves, not by a line of the project's code.
READ_BY_LIBRARIES = {"SANIC_WORKERS", "ACTION_SERVER_SANIC_WORKERS", "TICKET_LOCK_LIFETIME", "LOG_LEVEL",
                     "PROMETHEUS_MULTIPROC_DIR"}


def _sources() -> dict[Path, str]:
    files = [*PROJECT_ROOT.glob("bot/**/*.py"), *PROJECT_ROOT.glob("actions/*.py"), PROJECT_ROOT / "bin" / "bot",
             *PROJECT_ROOT.glob("deploy/*"), PROJECT_ROOT / "endpoints.yml", PROJECT_ROOT / "credentials.yml"]
    return {path: path.read_text(encoding="utf-8") for path in files
            if path.is_file() and path.name != "config_reference.py"}


def test_the_page_is_what_the_code_generates() -> None:
    page = (PROJECT_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == markdown(), "run: .venv-actions/bin/python -m bot.config_reference docs/configuration.md"


def test_every_variable_the_code_names_is_documented_and_nothing_else() -> None:
    documented = {variable.name for variable in all_variables()}
    named = {name for text in _sources().values() for name in NAMED.findall(text)}
    # A prefix such as RIS3_WEB_ in a message ("RIS3_WEB_…") names no variable of its own.
    named = {name for name in named if not any(other.startswith(name + "_") for other in documented)
             or name in documented}
    assert named - documented == set()
    stale = {variable.name for variable in OTHER} - named - READ_BY_LIBRARIES
    assert stale == set(), "documented but named nowhere in the code or deploy/"


def test_every_setting_has_a_meaning() -> None:
    missing = [variable.name for variable in all_variables() if not variable.meaning]
    assert missing == []
    assert set(MEANINGS) <= {variable.name for variable in all_variables()}


def _filled_env_example(tmp_path: Path) -> dict[str, str]:
    """deploy/env.example with each placeholder replaced as its comments say: one value per placeholder."""
    from bot.web.passwords import hash_password

    lines = (PROJECT_ROOT / "deploy" / "env.example").read_text(encoding="utf-8").splitlines()
    text = "\n".join(line for line in lines if not line.startswith("#")) + "\n"
    values: dict[str, str] = {}
    for placeholder in sorted(set(re.findall(r"change-me-[a-z0-9-]+", text))):
        if placeholder == "change-me-fernet-key":
            values[placeholder] = Fernet.generate_key().decode()
        elif placeholder == "change-me-argon2-hash":
            values[placeholder] = hash_password(secrets.token_urlsafe(12))
        else:
            values[placeholder] = secrets.token_hex(32)
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    assert "change-me" not in text
    filled = tmp_path / ".env"
    filled.write_text(text, encoding="utf-8")
    # As docker compose and pydantic-settings read it: single quotes keep the hash's "$" as they are.
    environ = {key: value or "" for key, value in dotenv_values(filled, interpolate=False).items()}
    assert environ["RIS3_WEB_MANAGER_PASSWORD_HASH"] == values["change-me-argon2-hash"]
    return environ


def test_env_example_filled_in_loads_in_every_settings_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.action_server import read_token
    from bot.channels.backoffice_link import link_token
    from bot.channels.conversation_ids import SessionSigner, load_secret
    from bot.channels.limits import Limits
    from bot.channels.telegram_api import TelegramConfig
    from bot.channels.web_chat_rules import resolve_origins
    from bot.handoff.config import HandoffSettings
    from bot.metrics.exposition import MIN_TOKEN_CHARS, metrics_token
    from bot.settings import Settings
    from bot.web.config import WebSettings
    from bot.web.secret_key import load_secret_key

    environ = _filled_env_example(tmp_path)
    monkeypatch.chdir(tmp_path)  # no other .env file is read
    for key in [k for k in __import__("os").environ if k.startswith("RIS3_")]:
        monkeypatch.delenv(key)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)

    Settings()
    handoff = HandoffSettings()
    assert handoff.database_url.startswith("postgresql+psycopg://ris3:")
    assert handoff.enabled_channels() == ["email"] and handoff.incomplete_channels() == {}
    web = WebSettings()
    assert web.manager_password_hash is not None and web.manager_password_hash.get_secret_value().startswith("$argon2")
    assert web.widget_server == "https://bot.example.fi" and web.served_over_https
    load_secret_key(web)  # a Fernet key, or the back office would not start
    assert len(read_token(environ)) >= 16
    assert link_token(environ) == environ["RIS3_PUSH_TOKEN"]
    SessionSigner(load_secret(environ, tmp_path / "unused")).issue()
    Limits.from_environ(environ)
    assert resolve_origins(None, environ) == ["https://www.kymenlaakso.fi", "https://*.kymenlaakso.fi"]
    telegram = TelegramConfig.resolve(None, environ)
    assert telegram.token == ""  # left empty: no Telegram
    assert len(metrics_token(environ)) >= MIN_TOKEN_CHARS


def test_every_variable_of_env_example_is_documented(tmp_path: Path) -> None:
    documented = {variable.name for variable in all_variables()}
    assert set(_filled_env_example(tmp_path)) - documented == set()


def test_the_compose_file_loads_and_takes_its_variables_from_env_example(tmp_path: Path) -> None:
    compose_text = (PROJECT_ROOT / "deploy" / "docker-compose.yml").read_text(encoding="utf-8")
    compose = yaml.safe_load(compose_text)
    services = compose["services"]
    # The services the docs name for the admin commands, Review and the proxy's two upstreams.
    assert {"rasa-1", "rasa-2", "actions-1", "actions-2", "backoffice", "migrate", "balancer"} <= set(services)
    assert "knowledge:/app/knowledge" in services["backoffice"]["volumes"]
    assert "knowledge:/app/knowledge" in services["actions-1"]["volumes"]
    substituted = set(re.findall(r"\$\{(RIS3_[A-Z0-9_]+)\}", compose_text))
    assert substituted <= set(_filled_env_example(tmp_path))
