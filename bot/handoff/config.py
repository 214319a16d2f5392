"""Handoff configuration from the environment (prefix RIS3_HANDOFF_) or a .env file.

A notification channel is used only when all of its settings are given; an unset channel creates no
jobs, so a pilot can run with e-mail alone.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.settings import PROJECT_ROOT

EMAIL, TELEGRAM, WEBHOOK = "email", "telegram", "webhook"
CHANNEL_KINDS = (EMAIL, TELEGRAM, WEBHOOK)


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


class HandoffSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RIS3_HANDOFF_", env_file=".env", extra="ignore")

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'handoff.db'}"
    retention_days: int = 90
    # Rasa's tracker store, whose conversations are erased after the same retention (bot/handoff/conversations.py).
    tracker_database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}",
        validation_alias=AliasChoices("RIS3_TRACKER_DATABASE_URL", "tracker_database_url"),
    )

    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = ""
    manager_email: str = ""
    smtp_username: str | None = None
    # Secrets are SecretStr so that printing or logging the settings never shows them.
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 30.0

    telegram_api_base: str = "https://api.telegram.org"
    telegram_token: SecretStr | None = None
    manager_chat_id: str = ""

    webhook_url: str = ""
    webhook_secret: SecretStr | None = None
    http_timeout_seconds: float = 30.0

    # The two-way handoff (docs/handoff.md): where the Rasa server takes pushes to the website chat, and
    # the working hours the user is told to expect the reply in (Finnish public holidays off by default).
    rasa_url: str = Field(
        default="http://127.0.0.1:5005", validation_alias=AliasChoices("RIS3_RASA_URL", "rasa_url")
    )
    working_hours: str = "Mon-Fri 08:00-16:00"
    timezone: str = "Europe/Helsinki"
    holidays_country: str = "FI"
    # The user's e-mail copy of a reply; off with "0" (the chat alone).
    email_replies: bool = True

    max_attempts: int = 8
    backoff_base_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0

    def _required(self) -> dict[str, dict[str, str]]:
        return {
            EMAIL: {"smtp_host": self.smtp_host, "smtp_from": self.smtp_from, "manager_email": self.manager_email},
            TELEGRAM: {"telegram_token": _secret(self.telegram_token), "manager_chat_id": self.manager_chat_id},
            # An unsigned webhook could be forged by anyone who learns its URL: no secret, no webhook.
            WEBHOOK: {"webhook_url": self.webhook_url, "webhook_secret": _secret(self.webhook_secret)},
        }

    def enabled_channels(self) -> list[str]:
        """The notification kinds whose settings are all given, in a fixed order."""
        return [kind for kind, values in self._required().items() if all(values.values())]

    def incomplete_channels(self) -> dict[str, list[str]]:
        """Channels with some but not all settings, and what is missing: most likely a typo to report."""
        incomplete: dict[str, list[str]] = {}
        for kind, values in self._required().items():
            missing = [name for name, value in values.items() if not value]
            if missing and len(missing) < len(values):
                incomplete[kind] = [f"RIS3_HANDOFF_{name.upper()}" for name in missing]
        return incomplete


@lru_cache(maxsize=1)
def get_handoff_settings() -> HandoffSettings:
    return HandoffSettings()
