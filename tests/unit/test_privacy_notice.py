"""What users are told (bot.privacy.notice): the texts and the statement's address come from privacy.yml, the
retention from the setting the purge applies, and a link only from an address staff set."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.privacy.notice import TEXT_KEYS, PrivacyConfigError, load, parse
from bot.settings import PROJECT_ROOT


def shipped() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "privacy.yml").read_text(encoding="utf-8"))


def test_the_shipped_file_has_every_text_in_both_languages_and_no_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIS3_HANDOFF_RETENTION_DAYS", raising=False)
    texts = load(PROJECT_ROOT / "privacy.yml")
    assert texts.statement_url == ""  # empty until staff set it
    for lang in ("en", "fi"):
        assert "90" in texts.say("notice", lang) and "{days}" not in texts.answer(lang)
        assert "http" not in texts.answer(lang) and "http" not in texts.telegram_notice(lang)
    assert texts.widget_notice()["statement_url"] is None


def test_the_retention_said_is_the_one_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIS3_HANDOFF_RETENTION_DAYS", "30")
    assert "30" in load(PROJECT_ROOT / "privacy.yml").say("kept", "en")
    monkeypatch.setenv("RIS3_HANDOFF_RETENTION_DAYS", "a month")
    with pytest.raises(PrivacyConfigError, match="RIS3_HANDOFF_RETENTION_DAYS"):
        load(PROJECT_ROOT / "privacy.yml")


def test_a_statement_address_set_by_staff_is_linked_everywhere() -> None:
    data = shipped() | {"statement_url": "https://www.kymenlaakso.fi/tietosuoja"}
    texts = parse(data, 90)
    assert texts.answer("fi").endswith("https://www.kymenlaakso.fi/tietosuoja")
    assert "https://www.kymenlaakso.fi/tietosuoja" in texts.telegram_notice("en")
    assert texts.widget_notice()["statement_url"] == "https://www.kymenlaakso.fi/tietosuoja"


@pytest.mark.parametrize("address", ["javascript:alert(1)", "www.kymenlaakso.fi", "https://", "https://a b.fi"])
def test_an_address_that_is_not_http_is_refused(address: str) -> None:
    with pytest.raises(PrivacyConfigError, match="statement_url"):
        parse(shipped() | {"statement_url": address}, 90)


def test_a_missing_text_is_named(tmp_path: Path) -> None:
    data = shipped()
    del data["texts"]["fi"]["erased"]
    with pytest.raises(PrivacyConfigError, match=r"texts\.fi lacks erased"):
        parse(data, 90)
    broken = tmp_path / "privacy.yml"
    broken.write_text("texts: [", encoding="utf-8")
    with pytest.raises(PrivacyConfigError, match="not valid YAML"):
        load(broken)
    assert len(TEXT_KEYS) == len(set(TEXT_KEYS))
