"""Handoff settings: which channels are used, secrets kept out of sight."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.handoff.config import HandoffSettings
from bot.settings import PROJECT_ROOT


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Only what the test sets: no developer's RIS3_HANDOFF_* variables, no .env file.
    for name in list(os.environ):
        if name.startswith("RIS3_HANDOFF_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_use_no_channel_and_a_local_database() -> None:
    settings = HandoffSettings()
    assert settings.enabled_channels() == []
    assert settings.incomplete_channels() == {}
    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'handoff.db'}"
    assert (settings.retention_days, settings.max_attempts) == (90, 8)
    assert (settings.backoff_base_seconds, settings.backoff_max_seconds) == (30, 3600)
    assert settings.telegram_api_base == "https://api.telegram.org"


def test_channels_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DATABASE_URL": "postgresql+psycopg://ris3@db/ris3",
        "SMTP_HOST": "smtp.kymenlaakso.fi",
        "SMTP_PORT": "587",
        "SMTP_STARTTLS": "true",
        "SMTP_FROM": "ris3@kymenlaakso.fi",
        "MANAGER_EMAIL": "pm@kymenlaakso.fi",
        "SMTP_PASSWORD": "mail-password",
        "WEBHOOK_URL": "https://backoffice.example/hook",
        "WEBHOOK_SECRET": "hook-secret",
        "TELEGRAM_TOKEN": "123:abc",  # no chat id: Telegram is incomplete
    }.items():
        monkeypatch.setenv(f"RIS3_HANDOFF_{name}", value)
    settings = HandoffSettings()
    assert settings.database_url == "postgresql+psycopg://ris3@db/ris3"
    assert settings.smtp_port == 587 and settings.smtp_starttls is True
    assert settings.enabled_channels() == ["email", "webhook"]
    assert settings.incomplete_channels() == {"telegram": ["RIS3_HANDOFF_MANAGER_CHAT_ID"]}
    shown = repr(settings) + str(settings.model_dump())
    for secret in ("mail-password", "hook-secret", "123:abc"):
        assert secret not in shown


def test_a_webhook_without_a_secret_is_not_used() -> None:
    settings = HandoffSettings(webhook_url="https://backoffice.example/hook")
    assert settings.enabled_channels() == []
    assert settings.incomplete_channels() == {"webhook": ["RIS3_HANDOFF_WEBHOOK_SECRET"]}
