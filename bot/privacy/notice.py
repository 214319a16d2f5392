"""What users are told about their data, from the configuration staff set (privacy.yml, or RIS3_PRIVACY_FILE).

The texts are the council's words, not code; {days} in them becomes the retention actually configured
(RIS3_HANDOFF_RETENTION_DAYS). The privacy statement's address is empty until staff set it, and then no link is
shown: an address that is not http(s) is refused at load rather than shown. Imported by the Rasa runtime
(Python 3.10: the website chat's notice, Telegram's /start) and by the action server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("en", "fi")
DEFAULT_RETENTION_DAYS = 90
TEXT_KEYS = (
    "notice",
    "delete_hint_web",
    "delete_hint_telegram",
    "kept",
    "readers",
    "erasure",
    "statement",
    "statement_button",
    "erase_offer",
    "erase_button",
    "keep_button",
    "erased",
    "kept_after_all",
    "erase_failed",
    "erase_in_private",
)


class PrivacyConfigError(ValueError):
    """privacy.yml cannot be used as it is; the message says which entry and why."""


@dataclass(frozen=True)
class PrivacyTexts:
    statement_url: str
    retention_days: int
    texts: dict[str, dict[str, str]]

    def say(self, key: str, language: str) -> str:
        lang = language if language in self.texts else "en"
        return self.texts[lang][key].replace("{days}", str(self.retention_days))

    def answer(self, language: str) -> str:
        """The answer to a privacy question: what is kept and for how long, who reads it, how to erase it, and
        the statement's address when staff have set one."""
        parts = [self.say("kept", language), self.say("readers", language), self.say("erasure", language)]
        if self.statement_url:
            parts.append(f"{self.say('statement', language)} {self.statement_url}")
        return "\n\n".join(parts)

    def telegram_notice(self, language: str) -> str:
        parts = [self.say("notice", language), self.say("delete_hint_telegram", language)]
        if self.statement_url:
            parts.append(f"{self.say('statement', language)} {self.statement_url}")
        return "\n\n".join(parts)

    def widget_notice(self) -> dict[str, Any]:
        """What the widget shows before the first message, in both languages (it follows the page's)."""
        return {
            "statement_url": self.statement_url or None,
            "texts": {
                lang: {
                    "notice": self.say("notice", lang),
                    "hint": self.say("delete_hint_web", lang),
                    "statement": self.say("statement_button", lang),
                    "erase": self.say("erase_button", lang),
                    "keep": self.say("keep_button", lang),
                    "confirm": self.say("erase_offer", lang),
                }
                for lang in LANGUAGES
            },
        }


def _retention_days() -> int:
    raw = os.environ.get("RIS3_HANDOFF_RETENTION_DAYS", "").strip()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    try:
        days = int(raw)
    except ValueError:
        raise PrivacyConfigError(f"RIS3_HANDOFF_RETENTION_DAYS must be a whole number of days, not {raw!r}") from None
    if days < 0:
        raise PrivacyConfigError("RIS3_HANDOFF_RETENTION_DAYS must be 0 or more")
    return days


def _statement_url(value: Any) -> str:
    url = "" if value is None else str(value).strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or any(c.isspace() for c in url):
        raise PrivacyConfigError(f"statement_url must be an http(s) address or empty, not {url!r}")
    return url


def parse(data: Any, retention_days: int) -> PrivacyTexts:
    if not isinstance(data, dict):
        raise PrivacyConfigError("privacy.yml must be a mapping with statement_url and texts")
    texts = data.get("texts")
    if not isinstance(texts, dict):
        raise PrivacyConfigError("privacy.yml: texts missing")
    checked: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        given = texts.get(lang)
        if not isinstance(given, dict):
            raise PrivacyConfigError(f"privacy.yml: texts.{lang} missing")
        missing = [key for key in TEXT_KEYS if not isinstance(given.get(key), str) or not given[key].strip()]
        if missing:
            raise PrivacyConfigError(f"privacy.yml: texts.{lang} lacks {', '.join(missing)}")
        checked[lang] = {key: " ".join(given[key].split()) for key in TEXT_KEYS}
    return PrivacyTexts(_statement_url(data.get("statement_url")), retention_days, checked)


def load(path: Path | None = None) -> PrivacyTexts:
    where = path or Path(os.environ.get("RIS3_PRIVACY_FILE") or PROJECT_ROOT / "privacy.yml")
    try:
        data = yaml.safe_load(where.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PrivacyConfigError(f"{where} cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise PrivacyConfigError(f"{where} is not valid YAML: {exc}") from None
    return parse(data, _retention_days())


@lru_cache(maxsize=1)
def texts() -> PrivacyTexts:
    """The configuration, read once per process (a change takes a restart)."""
    return load()
