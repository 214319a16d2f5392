"""Links under the answers (issue 12, item 14): the source page and its documents where knowledge/sources.yml
gives their addresses, tap-to-call buttons for the phone numbers an answer gives, and never a link made from
what a user typed."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.passages import Passage
from bot.knowledge.replies import Button, dont_know_reply, fact_reply, phone_buttons, reply_for
from bot.knowledge.retrieval import Candidate, Decision
from bot.knowledge.store import KnowledgeError, load_knowledge

REAL_KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"
PAGE_URL = "https://council.example/ris3-strategy"
BROCHURE_URL = "https://council.example/files/KYMRIS3_esite_eng.pdf"
TEL = Button("+358 44 747 8512", url="tel:+358447478512")


def configure(root: Path, page_url: Any = PAGE_URL, brochure_url: Any = BROCHURE_URL) -> None:
    meta = yaml.safe_load((root / "sources.yml").read_text(encoding="utf-8"))
    source = meta["sources"][0]
    source["url"] = page_url
    source["documents"][0]["url"] = brochure_url
    (root / "sources.yml").write_text(yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    """A copy of the real knowledge, before its addresses are configured."""
    root = tmp_path / "knowledge"
    shutil.copytree(REAL_KNOWLEDGE, root, ignore=shutil.ignore_patterns("index"))
    return root


def index_of(root: Path, passages: dict[str, Passage] | None = None) -> KnowledgeIndex:
    # Reply building needs the facts, sources and passages only, not the vectors.
    return KnowledgeIndex(load_knowledge(root), passages or {}, [], np.zeros((0, 1), dtype=np.float32), {})


def links(buttons: list[Button]) -> list[Button]:
    return [b for b in buttons if b.url]


def test_the_page_gives_no_address_so_none_is_configured() -> None:
    knowledge = load_knowledge(REAL_KNOWLEDGE)
    (source,) = knowledge.sources.values()
    assert source.url == ""
    assert [(d.id, d.name, d.url) for d in source.documents] == [("brochure_en", "KYMRIS3_esite_eng.pdf", "")]
    assert knowledge.facts["brochure_english"].documents == ("brochure_en",)


def test_without_addresses_the_brochure_answer_has_no_link(kdir: Path) -> None:
    reply = fact_reply(index_of(kdir), "brochure_english", "en")
    assert links(reply.buttons) == []
    assert reply.buttons  # the follow-ups stay


@pytest.mark.parametrize("lang", ["en", "fi"])
def test_configured_addresses_link_the_brochure_and_the_page(kdir: Path, lang: str) -> None:
    configure(kdir)
    index = index_of(kdir)
    reply = fact_reply(index, "brochure_english", lang)
    assert links(reply.buttons) == [
        Button("KYMRIS3 english (PDF, 1459 kB)", url=BROCHURE_URL),
        Button("Kymenlaakso's Smart Specialisation RIS3 Strategy", url=PAGE_URL),
    ]
    follow_ups = [b for b in reply.buttons if not b.url]
    assert [b.payload for b in follow_ups] == [
        f'/answer_fact{{"fact_id":"{f}"}}' for f in index.facts["brochure_english"].follow_ups
    ]
    # Every answer from that page links the page; only the brochure answer links the brochure.
    priorities = fact_reply(index, "priorities_all", lang)
    assert links(priorities.buttons) == [Button("Kymenlaakso's Smart Specialisation RIS3 Strategy", url=PAGE_URL)]


def test_a_passage_links_its_page_and_its_phone_number(kdir: Path) -> None:
    configure(kdir)
    passage = Passage("p1", "ris3-page", "en", "GSM +358 44 747 8512, Tämä sähköpostiosoite on suojattu.", 0)
    index = index_of(kdir, {"p1": passage})
    best = Candidate("p1", "passage", None, 0.95, 0.5, 0.97)
    reply = reply_for(Decision(True, "answer", best, [best]), index, "en")
    assert links(reply.buttons) == [Button("Kymenlaakso's Smart Specialisation RIS3 Strategy", url=PAGE_URL), TEL]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "tel:+358447478512",
        "data:text/html,<script>alert(1)</script>",
        "//council.example/ris3",
        "council.example/ris3",
        "https://council.example/ris3 strategy",
        "https://",
        42,
    ],
)
def test_only_http_addresses_are_accepted(kdir: Path, url: Any) -> None:
    configure(kdir, page_url=url)
    with pytest.raises(KnowledgeError, match="ris3-page"):
        load_knowledge(kdir)
    configure(kdir, page_url="", brochure_url=url)
    with pytest.raises(KnowledgeError, match="brochure_en"):
        load_knowledge(kdir)


def test_a_document_the_page_does_not_name_is_refused(kdir: Path) -> None:
    meta = yaml.safe_load((kdir / "sources.yml").read_text(encoding="utf-8"))
    meta["sources"][0]["documents"].append({"id": "annual_report", "name": "annual_report_2024.pdf"})
    (kdir / "sources.yml").write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"annual_report_2024\.pdf"):
        load_knowledge(kdir)


def test_a_fact_naming_an_unknown_document_is_refused(kdir: Path) -> None:
    data = yaml.safe_load((kdir / "facts.yml").read_text(encoding="utf-8"))
    next(f for f in data["facts"] if f["id"] == "brochure_english")["documents"] = ["brochure_sv"]
    (kdir / "facts.yml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"brochure_english.*brochure_sv"):
        load_knowledge(kdir)


# --- phone numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "fi"])
def test_every_answer_giving_the_phone_number_has_a_tap_to_call_button(lang: str) -> None:
    knowledge = load_knowledge(REAL_KNOWLEDGE)
    index = KnowledgeIndex(knowledge, {}, [], np.zeros((0, 1), dtype=np.float32), {})
    # The number comes from the contact fact, not from the code.
    assert phone_buttons(knowledge.facts[knowledge.contact].text[lang]) == [TEL]
    for fact in knowledge.facts.values():
        reply = fact_reply(index, fact.id, lang)
        expected = [TEL] if "+358 44 747 8512" in fact.text[lang] else []
        assert links(reply.buttons) == expected, fact.id
    assert links(dont_know_reply(index, lang).buttons) == [TEL]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("phone +358 44 747 8512.", ["tel:+358447478512"]),
        ("+358 44 747 8512 or +358 44 747 8512", ["tel:+358447478512"]),
        ("+46 8 123 456 78, +1 212 555 0100", ["tel:+46812345678", "tel:+12125550100"]),
        ("the priorities for 2021–2025", []),
        ("KymÄES 2.0", []),
        ("+3", []),
    ],
)
def test_phone_numbers_in_a_text(text: str, expected: list[str]) -> None:
    assert [b.url for b in phone_buttons(text)] == expected


def test_words_the_user_typed_never_become_links(kdir: Path) -> None:
    configure(kdir)
    typed = ["+358 40 123 4567", "https://evil.example/", "javascript:alert(1)"]
    best = Candidate("priorities_all", "fact", None, 0.95, 0.5, 0.97)
    reply = reply_for(Decision(True, "answer", best, [best], typed, not_named=typed), index_of(kdir), "en")
    assert reply.response == "utter_not_named"
    assert links(reply.buttons) == [Button("Kymenlaakso's Smart Specialisation RIS3 Strategy", url=PAGE_URL)]


# --- what the action sends, per channel --------------------------------------------------------------------


@pytest.fixture(scope="module")
def actions() -> ModuleType:
    import importlib

    try:
        return importlib.import_module("actions.actions")
    except SystemExit as exc:  # a missing or stale index
        pytest.fail(f"actions.actions refused to load: {exc}")


def contact_question(channel: str) -> Tracker:
    payload = '/answer_fact{"fact_id":"contact_project_manager"}'
    return Tracker(
        sender_id="unit-links",
        slots={"language": "en"},
        latest_message={
            "text": payload,
            "intent": {"name": "answer_fact", "confidence": 1.0},
            "entities": [{"entity": "fact_id", "value": "contact_project_manager"}],
        },
        events=[{"event": "user", "text": payload, "input_channel": channel, "timestamp": 1.0}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.mark.parametrize("channel", ["rest", "socketio", "telegram"])
def test_the_action_sends_links_as_url_buttons_except_tel_on_telegram(
    actions: ModuleType, domain: dict[str, Any], channel: str
) -> None:
    dispatcher = CollectingDispatcher()
    actions.ActionAnswer().run(dispatcher, contact_question(channel), domain)
    # The answer, and the feedback question under it (tests/unit/test_feedback_actions.py).
    message, feedback = dispatcher.messages
    assert feedback["response"] == "utter_ask_feedback"
    urls = [b for b in message["buttons"] if "url" in b]
    # Telegram refuses a tel: link in a button; its apps link the number in the text instead.
    assert urls == ([] if channel == "telegram" else [{"title": "+358 44 747 8512", "url": "tel:+358447478512"}])
    assert all(set(b) == {"title", "payload"} for b in message["buttons"] if "url" not in b)
    assert [b for b in message["buttons"] if "url" not in b]  # the follow-ups stay
