"""The key that encrypts and signs the session cookies: from RIS3_WEB_SECRET_KEY, or generated once into
a file readable only by its owner."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet

from bot.web.config import WebSettings

logger = logging.getLogger(__name__)

GENERATE_HINT = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class SecretKeyError(ValueError):
    pass


def _checked(key: str, where: str) -> bytes:
    try:
        Fernet(key.strip().encode())
    except ValueError as exc:
        # Not echoing the value: a mistyped key is still mostly the real key.
        raise SecretKeyError(
            f"{where} is not a Fernet key (urlsafe base64 of 32 bytes); make one with {GENERATE_HINT}"
        ) from exc
    return key.strip().encode()


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: of two processes starting at once, one writes the key and the other reads it.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(Fernet.generate_key() + b"\n")
    logger.info("generated a new session key in %s", path)


def load_secret_key(settings: WebSettings) -> bytes:
    """The configured key, or the one in settings.secret_key_file (created on first use)."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value().strip():
        return _checked(settings.secret_key.get_secret_value(), "RIS3_WEB_SECRET_KEY")
    path = settings.secret_key_file
    if not path.exists():
        _create(path)
    return _checked(path.read_text(encoding="ascii", errors="replace"), str(path))
