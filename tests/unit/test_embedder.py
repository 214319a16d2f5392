"""The embedding backends: the ONNX graph set-up exports gives sentence-transformers' vectors, the backend is
part of the index's identity, and repeated questions are embedded once."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.knowledge import embedder as embedder_module
from bot.knowledge.embedder import Embedder, EmbeddingBackendError, backend_of, model_identity
from bot.knowledge.onnx_encoder import ONNX_FILE, RECORD_FILE, WEIGHTS_FILE
from bot.knowledge.onnx_export import is_up_to_date
from bot.settings import get_settings

MODEL = get_settings().embedding_model
SENTENCES = [
    "What are the three priorities of Kymenlaakso's strategy?",
    "Kuka vastaa strategian päivityksestä ja miten häneen saa yhteyden?",
    "hi",
    "<script>alert(1)</script> " + "very long question about logistics " * 60,  # past the 512-token cut
]


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIS3_EMBEDDING_BACKEND", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def onnx_embedder() -> Embedder:
    return Embedder(MODEL, backend="onnx")


def test_set_up_exported_the_graph_for_this_model() -> None:
    assert is_up_to_date(Path(MODEL))
    assert (Path(MODEL) / ONNX_FILE).stat().st_size < 10_000_000  # the weights are in their own file
    assert (Path(MODEL) / WEIGHTS_FILE).stat().st_mode & 0o044  # readable by the server's account


def test_onnx_vectors_are_those_of_sentence_transformers(onnx_embedder: Embedder) -> None:
    torch_vectors = Embedder(MODEL, backend="torch").queries(SENTENCES)
    onnx_vectors = onnx_embedder.queries(SENTENCES)
    assert onnx_vectors.shape == torch_vectors.shape == (len(SENTENCES), 384)
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-4)
    assert (onnx_vectors * torch_vectors).sum(axis=1).min() >= 0.9999


def test_a_batch_gives_the_vectors_of_single_texts(onnx_embedder: Embedder) -> None:
    # Passages are embedded in padded batches at build time; questions one by one at run time.
    batch = onnx_embedder.passages(SENTENCES)
    singles = np.vstack([onnx_embedder.passages([s]) for s in SENTENCES])
    assert np.allclose(batch, singles, atol=1e-5)
    assert onnx_embedder.passages([]).shape[0] == 0


def test_a_repeated_question_is_served_from_the_cache(onnx_embedder: Embedder) -> None:
    text = "Which sectors does the strategy name? (cache test)"
    first = onnx_embedder.queries([text]).copy()
    hits = onnx_embedder.cache_hits
    again = onnx_embedder.queries([text, text])
    assert onnx_embedder.cache_hits == hits + 1  # once for the lookup; the duplicate in the call is not embedded twice
    assert np.array_equal(again[0], first[0]) and np.array_equal(again[1], first[0])
    onnx_embedder.queries([text])[0][0] = 9.0  # a caller changing its result does not change the next caller's
    assert np.array_equal(onnx_embedder.queries([text])[0], first[0])


def test_the_cache_keeps_the_most_recent_questions(monkeypatch: pytest.MonkeyPatch, onnx_embedder: Embedder) -> None:
    monkeypatch.setattr(embedder_module, "QUERY_CACHE_SIZE", 3)
    onnx_embedder.queries([f"question {i}" for i in range(5)])
    assert len(onnx_embedder._cache) == 3
    assert list(onnx_embedder._cache)[-1] == "question 4"


def test_backend_follows_the_setting_and_the_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert backend_of(MODEL) == "onnx"
    bare = tmp_path / "model"
    bare.mkdir()
    shutil.copy(Path(MODEL) / "manifest.json", bare / "manifest.json")
    assert backend_of(str(bare)) == "torch"  # a folder without the export
    monkeypatch.setenv("RIS3_EMBEDDING_BACKEND", "onnx")
    get_settings.cache_clear()
    with pytest.raises(EmbeddingBackendError, match="make setup"):
        backend_of(str(bare))


def test_the_backend_is_part_of_the_index_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    identities = set()
    for backend in ("onnx", "torch"):
        monkeypatch.setenv("RIS3_EMBEDDING_BACKEND", backend)
        get_settings.cache_clear()
        identities.add(model_identity(MODEL))
    assert len(identities) == 2  # an index built by one backend is stale for the other


def test_a_changed_model_folder_makes_the_export_stale(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    (folder / RECORD_FILE.parent).mkdir(parents=True)
    shutil.copy(Path(MODEL) / "manifest.json", folder / "manifest.json")
    shutil.copy(Path(MODEL) / RECORD_FILE, folder / RECORD_FILE)
    for path in (ONNX_FILE, WEIGHTS_FILE):
        (folder / path).write_bytes(b"graph")  # only their presence is looked at
    assert is_up_to_date(folder)
    (folder / "manifest.json").write_text('{"changed": true}')
    assert not is_up_to_date(folder)
    shutil.copy(Path(MODEL) / "manifest.json", folder / "manifest.json")
    (folder / WEIGHTS_FILE).unlink()
    assert not is_up_to_date(folder)
