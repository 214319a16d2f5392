"""Back-office configuration from the environment (prefix RIS3_WEB_) or a .env file."""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
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
    # For scripts: `Authorization: Bearer <token>` on /api/ acts as the manager, without a session or CSRF token
    # (a browser never sends it by itself). Unset: the API takes sessions only. At least 32 characters.
    api_token: SecretStr | None = Field(default=None, min_length=32)

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

    # The Rasa server the demo pages' widget talks to, the only other origin their CSP lets them connect
    # to. Configured, never taken from the request: the Host header is whatever the client sends.
    widget_server: str = "http://localhost:5005"
    # Where browsers reach the back office (e.g. https://bot.example.fi, usually through the TLS proxy):
    # an https URL makes every answer carry Strict-Transport-Security.
    public_url: str = ""

    # Slows down password guessing; every failed sign-in waits this long before its answer.
    login_delay_seconds: float = Field(default=1.0, ge=0)
    # Password guessing: this many failed sign-ins from one client address, or for one user name from
    # anywhere, within the window lock that address or name out for login_lockout_seconds, doubling with
    # each further lockout up to login_lockout_max_seconds; a quiet window starts again from the first.
    # The account's limit is higher than the address's, so that one address meets its own limit first,
    # and its lockout is bounded: an attacker can keep the manager out for at most the cap at a time.
    login_max_failures_per_address: int = Field(default=5, ge=1)
    login_max_failures_per_account: int = Field(default=10, ge=1)
    login_failure_window_seconds: float = Field(default=15 * 60.0, gt=0)
    login_lockout_seconds: float = Field(default=60.0, gt=0)
    login_lockout_max_seconds: float = Field(default=15 * 60.0, gt=0)
    # argon2 takes tens of milliseconds of CPU and 64 MiB per check: at most this many at once, on
    # threads of their own, and this many more waiting; further sign-ins are turned away at once (503).
    password_check_concurrency: int = Field(default=2, ge=1)
    password_check_queue: int = Field(default=4, ge=0)
    # Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For names the client.
    # None by default: the header is then ignored, as anyone can send it.
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = []

    # The Knowledge page's uploads (a source's new version: a saved page or a PDF such as the 1.5 MB brochure) may
    # carry bodies up to this size; every other route keeps aiohttp's 1 MiB (bot/web/body_limits.py).
    knowledge_upload_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024 * 1024, le=1024 * 1024 * 1024,
        validation_alias=AliasChoices("RIS3_KNOWLEDGE_UPLOAD_MAX_BYTES", "knowledge_upload_max_bytes"),
    )

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

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list):
            try:
                # strict=False: 10.0.0.1/8 means the network 10.0.0.0/8, as people write it.
                return [ip_network(item, strict=False) if isinstance(item, str) else item for item in value]
            except ValueError as exc:
                raise ValueError(f"not an IP address or network: {exc}") from None
        return value

    @field_validator("widget_server")
    @classmethod
    def _check_widget_server(cls, value: str) -> str:
        return _http_url(value, "the widget's server", origin_only=True)

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        return _http_url(value, "the public URL", origin_only=False) if value.strip() else ""

    @model_validator(mode="after")
    def _check_lockouts(self) -> WebSettings:
        if self.login_lockout_max_seconds < self.login_lockout_seconds:
            raise ValueError(
                "RIS3_WEB_LOGIN_LOCKOUT_MAX_SECONDS must not be shorter than RIS3_WEB_LOGIN_LOCKOUT_SECONDS"
            )
        return self

    @property
    def served_over_https(self) -> bool:
        return self.public_url.startswith("https://")


def _http_url(value: str, what: str, *, origin_only: bool) -> str:
    """An http(s) URL with a host, without a trailing slash; origin_only: nothing after the port."""
    url = value.strip().rstrip("/")
    example = "https://bot.example.fi:5005" if origin_only else "https://bot.example.fi"
    problem = f"{what} must be an http or https URL such as {example}, not {value!r}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError:
        raise ValueError(problem) from None
    # It goes into a Content-Security-Policy and a page: no room for anything but a URL.
    unsafe = any(character.isspace() or character in "\"'<>;," for character in url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None or unsafe:
        raise ValueError(problem)
    if parts.query or parts.fragment or (origin_only and parts.path):
        raise ValueError(problem + " (scheme, host and port only)" if origin_only else problem)
    return url


def describe_errors(exc: ValidationError) -> str:
    """One line per bad setting, named as it is set (RIS3_WEB_…), without the value of a secret."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        message = error["msg"].removeprefix("Value error, ")
        name = str(error["loc"][0]).upper() if error["loc"] else ""
        # A setting read under a name of its own (RIS3_KNOWLEDGE_UPLOAD_MAX_BYTES) is named as it is set.
        lines.append(f"{name if name.startswith('RIS3_') else 'RIS3_WEB_' + name}: {message}" if name else message)
    return "\n".join(lines)


@lru_cache(maxsize=1)
def get_web_settings() -> WebSettings:
    return WebSettings()
