"""What keeps the Review grouping bounded in memory (bench/review_memory.py measures the whole back office): the
low-memory encoder's batches stay within their token budget and give the same vectors, the kept question vectors
are bounded (most recently used kept), the model is let go when idle and loaded again on use, and freed memory is
handed back to the system."""

from __future__ import annotations

import time

import numpy as np
import pytest
from review_helpers import WordsEmbedder

from bot.analytics import review as review_module
from bot.analytics.review import LockedEmbedder
from bot.knowledge.embedder import Embedder
from bot.knowledge.onnx_encoder import LOW_MEMORY_BATCH_TOKENS, OnnxEncoder
from bot.memory_release import release_free_memory
from bot.settings import get_settings

MODEL = get_settings().embedding_model
TEXTS = [
    "What are the priorities?",
    "Mitkä ovat painopisteet?",
    "hi",
    "We run a small company and have read the plan twice, but our line of work is unclear. " * 30 + "Is it in?",
    "Meillä on pieni yritys ja luimme suunnitelman kahdesti, mutta oma alamme jää epäselväksi. " * 25 + "Onko?",
] + [f"question number {n} about logistics and ports" for n in range(70)]


def test_low_memory_batches_keep_the_token_budget_and_the_vectors() -> None:
    lean = OnnxEncoder(MODEL, low_memory=True)
    order = sorted(range(len(TEXTS)), key=lambda i: len(TEXTS[i]))
    batches = lean._batches(order, TEXTS, 64)
    assert sorted(i for batch in batches for i in batch) == list(range(len(TEXTS)))
    for batch in batches:
        ids, _ = lean.tokenize([TEXTS[i] for i in batch])
        assert ids.size <= LOW_MEMORY_BATCH_TOKENS or len(batch) == 1
    long_batch = next(batch for batch in batches if 3 in batch)  # with a text cut at 512 tokens
    assert len(long_batch) <= LOW_MEMORY_BATCH_TOKENS // 512 and len(batches) > 2
    plain = Embedder(MODEL, backend="onnx").queries(TEXTS)
    assert np.allclose(Embedder(MODEL, backend="onnx", low_memory=True).queries(TEXTS), plain, atol=1e-5)


def test_kept_vectors_are_bounded_most_recent_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(review_module, "CACHED_VECTORS", 10)
    embedder = LockedEmbedder("fake", factory=WordsEmbedder, idle_seconds=None)
    embedder([f"question {n}" for n in range(8)])
    embedder(["question 0"])  # used again: the most recent
    embedder([f"other {n}" for n in range(5)])
    kept = list(embedder._cache)
    assert len(kept) == 10 and "question 0" in kept and "question 1" not in kept


def test_an_idle_model_is_let_go_and_loaded_again_on_use() -> None:
    embedder = LockedEmbedder("fake", factory=WordsEmbedder, idle_seconds=0.2)
    first = embedder(["what are the priorities"])
    assert embedder.loaded and embedder.loads == 1
    deadline = time.monotonic() + 10
    while embedder.loaded and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not embedder.loaded and not embedder._cache
    assert np.allclose(embedder(["what are the priorities"]), first) and embedder.loads == 2
    embedder.release()


def test_without_an_idle_time_the_model_stays() -> None:
    embedder = LockedEmbedder("fake", factory=WordsEmbedder, idle_seconds=None)
    embedder(["a question"])
    time.sleep(0.3)
    assert embedder.loaded and embedder._timer is None


def test_free_memory_is_handed_back_on_glibc() -> None:
    assert release_free_memory() is True  # Debian: glibc
