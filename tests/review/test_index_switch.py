"""The knowledge index switched in atomically while it is read, a failed rebuild leaving the old index in place,
and the knowledge service of a running process taking up a new index without a restart (in this process, with a
fake embedder; over REST with the real servers: test_review_bot.py)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from review_helpers import NLU_DIR, NOW, MakeDesk, WordsEmbedder, declined

from bot.analytics.review import DECLINED, FAILED, KnowledgeWriter, ReviewQuestion, normalise
from bot.knowledge import service
from bot.knowledge.index import IndexNotReady, build_index, load_index
from bot.settings import Settings

MODEL = "fake-model"


class SizedEmbedder(WordsEmbedder):
    """Vectors of a size of its own per build: an index read half from one build and half from another shows
    as a manifest whose `dim` is not its vectors' width."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def _encode(self, texts: list[str]) -> np.ndarray:
        return np.full((len(texts), self.dim), 1.0 / np.sqrt(self.dim), dtype=np.float32)


def test_readers_never_see_a_missing_or_mixed_index(knowledge: Path) -> None:
    index_dir = knowledge / "index"
    build_index(knowledge, index_dir, MODEL, lambda _: SizedEmbedder(8))
    stop = threading.Event()
    problems: list[str] = []
    loads = [0]

    def read() -> None:
        while not stop.is_set():
            try:
                index = load_index(knowledge, index_dir, MODEL)
            except IndexNotReady as exc:
                problems.append(str(exc))
                continue
            loads[0] += 1
            if index.manifest["dim"] != index.vectors.shape[1]:
                problems.append(f"mixed: manifest dim {index.manifest['dim']}, vectors {index.vectors.shape[1]}")

    def watch() -> None:
        while not stop.is_set():
            if not (index_dir / "manifest.json").is_file():
                problems.append("no index at that moment")

    threads = [threading.Thread(target=read), threading.Thread(target=read), threading.Thread(target=watch)]
    for thread in threads:
        thread.start()
    try:
        for build in range(1, 9):
            build_index(knowledge, index_dir, MODEL, lambda _, b=build: SizedEmbedder(8 + b), force=True)
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert problems == [] and loads[0] > 0
    assert load_index(knowledge, index_dir, MODEL).vectors.shape[1] == 16
    assert sorted(p.name for p in knowledge.iterdir() if p.name.startswith((".index", "index"))) == ["index"]


def test_a_failed_rebuild_leaves_the_old_index_and_says_why(make_desk: MakeDesk, built_index: dict[str, Any]) -> None:
    def failing() -> dict[str, Any]:
        build_index(desk.config.knowledge_dir, desk.config.index_dir, MODEL, lambda _: BrokenEmbedder(), force=True)
        return {}

    desk = make_desk(build=failing)
    files = {p.name: p.read_bytes() for p in desk.config.index_dir.iterdir()}
    desk.rebuild.request()
    assert desk.rebuild.wait(30)
    status = desk.index_status()
    assert status["state"] == FAILED and status["reason"] == "RuntimeError: the embedding model fell over"
    assert {p.name: p.read_bytes() for p in desk.config.index_dir.iterdir()} == files
    assert status["up_to_date"] and status["built_at"] == built_index["built_at"]


class BrokenEmbedder(WordsEmbedder):
    def passages(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("the embedding model fell over")


def test_a_rebuild_asked_for_while_one_runs_runs_once_more(make_desk: MakeDesk) -> None:
    release = threading.Event()
    calls: list[float] = []

    def slow() -> dict[str, Any]:
        calls.append(time.monotonic())
        release.wait(10)
        return {}

    desk = make_desk(build=slow)
    desk.rebuild.request()
    desk.rebuild.request()
    desk.rebuild.request()  # one more build afterwards, not two
    release.set()
    assert desk.rebuild.wait(30)
    assert len(calls) == 2 and desk.rebuild.status()["builds"] == 2


# --- the service of a running process ---------------------------------------------------------------------------


class ServiceEmbedder(WordsEmbedder):
    """The action server's embedder in these tests; `slow` makes loading a new index take its time."""

    slow = 0.0
    loaded = 0

    def __init__(self, model: str, threads: int = 1) -> None:
        super().__init__()
        ServiceEmbedder.loaded += 1

    def queries(self, texts: list[str]) -> np.ndarray:
        if threading.current_thread().name == "knowledge-reload":
            time.sleep(self.slow)
        return super().queries(texts)


@pytest.fixture
def running_service(knowledge: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The knowledge service of this process on the copied knowledge, with the fake embedder."""
    build_index(knowledge, knowledge / "index", MODEL, WordsEmbedder)
    settings = Settings(_env_file=None, knowledge_dir=knowledge, index_dir=knowledge / "index", embedding_model=MODEL)  # type: ignore[call-arg]
    monkeypatch.setattr(service, "get_settings", lambda: settings)
    monkeypatch.setattr("bot.knowledge.embedder.Embedder", ServiceEmbedder)
    monkeypatch.setattr(service, "_service", None)
    monkeypatch.setattr(service, "_reloads", service._Reloads())
    monkeypatch.setattr(service, "RELOAD_CHECK_SECONDS", 0.05)
    ServiceEmbedder.slow, ServiceEmbedder.loaded = 0.0, 0
    yield knowledge


def teach(knowledge: Path, fact: str, text: str) -> None:
    question = ReviewQuestion(text, normalise(text))
    question.add(declined(text, at=NOW), [DECLINED])
    writer = KnowledgeWriter(knowledge, knowledge.parent / "cases", NLU_DIR)
    with writer.locked():
        writer.apply(writer.plan_fact(fact, [question], "g", "t"))


def wait_for_swap(before: service.KnowledgeService, timeout: float = 20.0) -> service.KnowledgeService:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = service.get_service()
        if current is not before:
            return current
        time.sleep(0.05)
    raise AssertionError(f"no new index taken up: {service.reload_status()}")


def test_a_new_index_is_taken_up_without_a_restart(running_service: Path) -> None:
    knowledge = running_service
    first = service.get_service()
    assert "who do I ring about KymÄES" not in first.index.facts["contact_project_manager"].keys["en"]
    teach(knowledge, "contact_project_manager", "who do I ring about KymÄES")
    # Until the index is rebuilt the running service keeps its index: the knowledge on disk is ahead of it.
    time.sleep(0.2)
    assert service.get_service() is first
    ServiceEmbedder.slow = 0.5
    build_index(knowledge, knowledge / "index", MODEL, WordsEmbedder)
    time.sleep(0.1)
    started = time.monotonic()
    assert service.get_service() is first  # the new one loads off the request path
    assert time.monotonic() - started < 0.2
    second = wait_for_swap(first)
    assert "who do I ring about KymÄES" in second.index.facts["contact_project_manager"].keys["en"]
    assert second.retriever.embedder is first.retriever.embedder and ServiceEmbedder.loaded == 1  # loaded once
    assert second.retriever.model is not None  # the decision model read again with it
    assert service.reload_status()["swaps"] == 1


def test_a_broken_new_index_leaves_the_old_one_serving(running_service: Path, caplog: pytest.LogCaptureFixture) -> None:
    knowledge = running_service
    index_dir = knowledge / "index"
    first = service.get_service()
    # A manifest switched in that does not match the knowledge (as if built from other files).
    manifest = json.loads((index_dir / "manifest.json").read_text())
    manifest["content_hash"] = "0" * 64
    replacement = index_dir / "manifest.json.new"
    replacement.write_text(json.dumps(manifest))
    os.replace(replacement, index_dir / "manifest.json")
    deadline = time.monotonic() + 10
    while not service.reload_status()["last_error"] and time.monotonic() < deadline:
        assert service.get_service() is first
        time.sleep(0.05)
    status = service.reload_status()
    assert "stale" in status["last_error"] and status["swaps"] == 0
    assert service.get_service() is first
    assert "the previous index" in caplog.text and "keeps serving" in caplog.text
    # The next good build is taken up.
    teach(knowledge, "about_goal", "what will the region look like once the strategy is done")
    build_index(knowledge, index_dir, MODEL, WordsEmbedder, force=True)
    second = wait_for_swap(first)
    assert "what will the region look like once the strategy is done" in second.index.facts["about_goal"].keys["en"]
    assert service.reload_status()["last_error"] == ""
