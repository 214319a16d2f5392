"""Unit tests for bot.knowledge.index: building, reusing and refusing the knowledge index.

No real embedding model is loaded: a fake embedder turns each text into a deterministic
unit vector derived from its hash.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.knowledge.index import INDEX_FORMAT, IndexNotReady, build_index, load_index
from bot.knowledge.passages import split_passages
from bot.knowledge.store import load_knowledge

REPO = Path(__file__).resolve().parents[2]
DIM = 16
MODEL = "fake-model"


def fake_vector(text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


class FakeEmbedder:
    """Same interface as bot.knowledge.embedder.Embedder, with the e5 prefixes."""

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([fake_vector(prefix + t) for t in texts]).astype(np.float32)

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query: ")

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage: ")


class FailingEmbedder(FakeEmbedder):
    def passages(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("the embedding model fell over")


class Factory:
    """An embedder_factory that records the models it was asked for."""

    def __init__(self, cls: type[FakeEmbedder] = FakeEmbedder) -> None:
        self.cls = cls
        self.models: list[str] = []

    def __call__(self, model: str) -> FakeEmbedder:
        self.models.append(model)
        return self.cls()


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    """A copy of the real knowledge files (without the built index)."""
    root = tmp_path / "knowledge"
    root.mkdir()
    shutil.copytree(REPO / "knowledge" / "sources", root / "sources")
    for name in ("sources.yml", "facts.yml"):
        shutil.copy(REPO / "knowledge" / name, root / name)
    return root


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "var" / "index"


@pytest.fixture
def built(kdir: Path, index_dir: Path) -> dict[str, Any]:
    rebuilt, manifest = build_index(kdir, index_dir, MODEL, embedder_factory=Factory())
    assert rebuilt
    return manifest


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def edit_facts(kdir: Path) -> None:
    path = kdir / "facts.yml"
    text = path.read_text(encoding="utf-8")
    old = "Smart specialisation (RIS3) is a strategic approach"
    assert old in text
    path.write_text(text.replace(old, "Smart specialisation (RIS3) is a strategic way", 1), encoding="utf-8")


def assert_rebuild_hint(message: str) -> None:
    assert "make setup" in message or "bin/bot knowledge build" in message, message


# --- building --------------------------------------------------------------------------------


def test_build_writes_manifest(kdir: Path, index_dir: Path, built: dict[str, Any]) -> None:
    knowledge = load_knowledge(kdir)
    passages = [p for s in knowledge.sources.values() for p in split_passages(s)]
    on_disk = json.loads((index_dir / "manifest.json").read_text())
    assert on_disk == built
    assert built["format"] == INDEX_FORMAT
    assert built["content_hash"] == knowledge.content_hash()
    assert built["model"] == MODEL
    assert built["facts"] == len(knowledge.facts)
    assert built["passages"] == len(passages)
    assert built["dim"] == DIM
    n_keys = sum(len(keys) for f in knowledge.facts.values() for keys in f.keys.values())
    n_texts = sum(len(f.text) for f in knowledge.facts.values())
    assert built["rows"] == n_keys + n_texts + len(passages)
    for name in ("vectors.npy", "rows.json", "passages.json"):
        assert (index_dir / name).is_file()
    # Nothing is left beside the index from the write-and-rename.
    assert [p.name for p in index_dir.parent.iterdir()] == [index_dir.name]


def test_load_index_rows_match_vectors(kdir: Path, index_dir: Path, built: dict[str, Any]) -> None:
    index = load_index(kdir, index_dir, MODEL)
    assert index.manifest == built
    assert index.vectors.dtype == np.float32
    assert index.vectors.shape == (built["rows"], DIM)
    assert len(index.rows) == index.vectors.shape[0]
    assert np.allclose(np.linalg.norm(index.vectors, axis=1), 1.0, atol=1e-5)
    assert len(index.passages) == built["passages"]

    # Each row's vector is the embedding of that row's string, keys as queries, the rest as passages.
    keys_seen: dict[tuple[str, str], int] = {}
    for row, vector in zip(index.rows, index.vectors, strict=True):
        if row.field == "key":
            position = keys_seen.get((row.item, row.lang), 0)
            keys_seen[(row.item, row.lang)] = position + 1
            expected = fake_vector("query: " + index.facts[row.item].keys[row.lang][position])
        elif row.field == "text":
            expected = fake_vector("passage: " + index.facts[row.item].text[row.lang])
        else:
            assert row.field == "passage"
            expected = fake_vector("passage: " + index.passages[row.item].text)
            assert row.lang == index.passages[row.item].lang
        np.testing.assert_allclose(vector, expected, rtol=0, atol=1e-6, err_msg=str(row))
    for (item, lang), count in keys_seen.items():
        assert count == len(index.facts[item].keys[lang])
    fields = {row.field for row in index.rows}
    assert fields == {"key", "text", "passage"}
    assert {row.item for row in index.rows if row.field != "passage"} == set(index.facts)


def test_second_build_is_skipped_without_calling_the_factory(
    kdir: Path, index_dir: Path, built: dict[str, Any]
) -> None:
    before = snapshot(index_dir)
    factory = Factory()
    rebuilt, manifest = build_index(kdir, index_dir, MODEL, embedder_factory=factory)
    assert rebuilt is False
    assert factory.models == []
    assert manifest == built
    assert snapshot(index_dir) == before


def test_force_rebuilds(kdir: Path, index_dir: Path, built: dict[str, Any]) -> None:
    factory = Factory()
    rebuilt, manifest = build_index(kdir, index_dir, MODEL, embedder_factory=factory, force=True)
    assert rebuilt is True
    assert factory.models == [MODEL]
    assert {k: manifest[k] for k in ("format", "content_hash", "model", "rows")} == {
        k: built[k] for k in ("format", "content_hash", "model", "rows")
    }
    load_index(kdir, index_dir, MODEL)


def test_changed_knowledge_triggers_a_rebuild(kdir: Path, index_dir: Path, built: dict[str, Any]) -> None:
    edit_facts(kdir)
    factory = Factory()
    rebuilt, manifest = build_index(kdir, index_dir, MODEL, embedder_factory=factory)
    assert rebuilt is True
    assert factory.models == [MODEL]
    assert manifest["content_hash"] != built["content_hash"]
    assert load_index(kdir, index_dir, MODEL).manifest == manifest


# --- refusing a stale, missing or broken index -----------------------------------------------


def test_changed_facts_make_the_index_stale(kdir: Path, index_dir: Path, built: dict[str, Any]) -> None:
    edit_facts(kdir)
    with pytest.raises(IndexNotReady) as info:
        load_index(kdir, index_dir, MODEL)
    message = str(info.value)
    assert "stale" in message
    assert "content_hash" in message
    assert_rebuild_hint(message)


def test_changed_source_makes_the_index_stale(kdir: Path, index_dir: Path, built: dict[str, Any]) -> None:
    source = kdir / "sources" / "kymenlaakso-ris3-strategy-page.txt"
    source.write_text(source.read_text(encoding="utf-8") + "\nAnother sentence.\n", encoding="utf-8")
    with pytest.raises(IndexNotReady, match="stale"):
        load_index(kdir, index_dir, MODEL)


def test_other_model_makes_the_index_stale(kdir: Path, index_dir: Path, built: dict[str, Any]) -> None:
    with pytest.raises(IndexNotReady) as info:
        load_index(kdir, index_dir, "another-fake-model")
    message = str(info.value)
    assert "stale" in message
    assert "model" in message
    assert_rebuild_hint(message)


def test_changed_model_folder_makes_the_index_stale(kdir: Path, tmp_path: Path) -> None:
    # A model folder is identified by its manifest, so a re-prepared model invalidates the index.
    model_dir = tmp_path / "models" / "fake-e5"
    model_dir.mkdir(parents=True)
    (model_dir / "manifest.json").write_text('{"weights": "v1"}')
    index_dir = tmp_path / "index"
    build_index(kdir, index_dir, str(model_dir), embedder_factory=Factory())
    load_index(kdir, index_dir, str(model_dir))
    (model_dir / "manifest.json").write_text('{"weights": "v2"}')
    with pytest.raises(IndexNotReady, match="stale"):
        load_index(kdir, index_dir, str(model_dir))


def test_missing_index_says_how_to_rebuild(kdir: Path, index_dir: Path) -> None:
    with pytest.raises(IndexNotReady) as info:
        load_index(kdir, index_dir, MODEL)
    assert_rebuild_hint(str(info.value))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: b"this is not a numpy file, it is some text" * 4, id="garbage"),
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
    ],
)
def test_corrupted_vectors_are_unreadable(
    kdir: Path, index_dir: Path, built: dict[str, Any], damage: Callable[[bytes], bytes]
) -> None:
    vectors = index_dir / "vectors.npy"
    vectors.write_bytes(damage(vectors.read_bytes()))
    with pytest.raises(IndexNotReady) as info:
        load_index(kdir, index_dir, MODEL)
    message = str(info.value)
    assert "unreadable" in message
    assert_rebuild_hint(message)


def test_rows_not_matching_vectors_is_refused(kdir: Path, index_dir: Path, built: dict[str, Any]) -> None:
    rows_path = index_dir / "rows.json"
    rows_path.write_text(json.dumps(json.loads(rows_path.read_text())[:-1]))
    with pytest.raises(IndexNotReady):
        load_index(kdir, index_dir, MODEL)


def test_empty_vectors_file_is_unreadable(kdir: Path, index_dir: Path, built: dict[str, Any]) -> None:
    (index_dir / "vectors.npy").write_bytes(b"")
    with pytest.raises(IndexNotReady, match="unreadable"):
        load_index(kdir, index_dir, MODEL)


def test_corrupted_manifest_is_not_ready(kdir: Path, index_dir: Path, built: dict[str, Any]) -> None:
    (index_dir / "manifest.json").write_text('{"format": 1, "content_')
    with pytest.raises(IndexNotReady):
        load_index(kdir, index_dir, MODEL)


def test_build_repairs_unreadable_index(kdir: Path, index_dir: Path, built: dict[str, Any]) -> None:
    (index_dir / "vectors.npy").write_bytes(b"garbage")
    rebuilt, _ = build_index(kdir, index_dir, MODEL, embedder_factory=Factory())
    assert rebuilt is True
    load_index(kdir, index_dir, MODEL)


# --- a failing build leaves nothing half-done ------------------------------------------------


def test_failing_embedder_leaves_no_index(kdir: Path, index_dir: Path) -> None:
    with pytest.raises(RuntimeError, match="fell over"):
        build_index(kdir, index_dir, MODEL, embedder_factory=Factory(FailingEmbedder))
    assert not index_dir.exists()
    assert not list(index_dir.parent.glob(".index-*"))
    with pytest.raises(IndexNotReady):
        load_index(kdir, index_dir, MODEL)


def test_failing_forced_rebuild_keeps_the_good_index(kdir: Path, index_dir: Path, built: dict[str, Any]) -> None:
    before = snapshot(index_dir)
    with pytest.raises(RuntimeError, match="fell over"):
        build_index(kdir, index_dir, MODEL, embedder_factory=Factory(FailingEmbedder), force=True)
    assert snapshot(index_dir) == before
    assert not list(index_dir.parent.glob(".index-*"))
    assert load_index(kdir, index_dir, MODEL).manifest == built


def test_failing_rebuild_after_an_edit_keeps_the_previous_index(
    kdir: Path, index_dir: Path, built: dict[str, Any]
) -> None:
    before = snapshot(index_dir)
    original = (kdir / "facts.yml").read_bytes()
    edit_facts(kdir)
    with pytest.raises(RuntimeError, match="fell over"):
        build_index(kdir, index_dir, MODEL, embedder_factory=Factory(FailingEmbedder))
    assert snapshot(index_dir) == before
    assert not list(index_dir.parent.glob(".index-*"))
    # The old index is refused for the new facts, and still good for the old ones.
    with pytest.raises(IndexNotReady, match="stale"):
        load_index(kdir, index_dir, MODEL)
    (kdir / "facts.yml").write_bytes(original)
    assert load_index(kdir, index_dir, MODEL).manifest == built
