"""Back-office configuration from the environment (prefix RIS3_WEB_) or a .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.settings import PROJECT_ROOT


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RIS3_WEB_", env_file=".env", extra="ignore")

    # Loopback by default: the back office is meant to sit behind a TLS-terminating reverse proxy
    # (its cookies are Secure), so it need not listen on a public interface itself.
    host: str = "127.0.0.1"
    port: int = 8080

    # The one account of the project manager; the hash comes from `bin/bot web hash-password`.
    manager_user: str = ""
    manager_password_hash: SecretStr | None = None

    # A Fernet key (urlsafe base64 of 32 bytes). When unset, one is generated into secret_key_file on the
    # first start, so sessions survive restarts without anyone handling the key.
    secret_key: SecretStr | None = None
    secret_key_file: Path = PROJECT_ROOT / "var" / "web-secret.key"

    # Only for plain-http development: browsers do not send Secure cookies over http.
    insecure_cookies: bool = False
    session_max_age_seconds: int = 8 * 3600

    # Origins besides the back office's own from which browsers may send POSTs (e.g. the council's site
    # once it embeds the widget); a POST carrying any other Origin is refused. Comma-separated.
    allowed_origins: Annotated[list[str], NoDecode] = []

    # Slows down password guessing; every failed sign-in waits this long before its answer.
    login_delay_seconds: float = 1.0

    outbox_interval_seconds: float = 30.0
    purge_interval_seconds: float = 24 * 3600.0
    # A delivery in flight gets this long to finish when the server stops; it is retried after a restart.
    shutdown_grace_seconds: float = 10.0

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value


@lru_cache(maxsize=1)
def get_web_settings() -> WebSettings:
    return WebSettings()
