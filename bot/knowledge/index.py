"""The knowledge index: facts and passages with their embeddings, and a manifest that says what
they were built from so that a stale index is refused rather than served."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.knowledge.embedder import model_identity
from bot.knowledge.passages import Passage, split_passages
from bot.knowledge.store import Fact, Knowledge, KnowledgeError, load_knowledge

# Bumped when the layout of the index files changes, so old indexes are rebuilt.
INDEX_FORMAT = 2
REBUILD_HINT = "rebuild it with `make setup` (or `bin/bot knowledge build`)"


class IndexNotReady(Exception):
    """The index is missing, unreadable or was built from other knowledge or another model."""


@dataclass(frozen=True)
class Row:
    """One embedded string: a fact key, a fact text or a passage."""

    item: str
    field: str
    lang: str


@dataclass
class KnowledgeIndex:
    knowledge: Knowledge
    passages: dict[str, Passage]
    rows: list[Row]
    vectors: np.ndarray
    manifest: dict[str, Any]

    @property
    def facts(self) -> dict[str, Fact]:
        return self.knowledge.facts


def _rows(knowledge: Knowledge, passages: list[Passage]) -> tuple[list[Row], list[str], list[bool]]:
    """Rows to embed, their strings, and whether each is embedded as a query (keys) or a passage."""
    rows: list[Row] = []
    texts: list[str] = []
    as_query: list[bool] = []
    for fact in knowledge.facts.values():
        for lang, keys in fact.keys.items():
            for key in keys:
                rows.append(Row(fact.id, "key", lang))
                texts.append(key)
                as_query.append(True)
        for lang, text in fact.text.items():
            rows.append(Row(fact.id, "text", lang))
            texts.append(text)
            as_query.append(False)
    for passage in passages:
        rows.append(Row(passage.id, "passage", passage.lang))
        texts.append(passage.text)
        as_query.append(False)
    return rows, texts, as_query


# The code that decides what is embedded, and how: a change to it changes the vectors.
_EMBEDDING_CODE = ("text.py", "passages.py", "index.py", "embedder.py", "onnx_encoder.py")


def code_hash() -> str:
    digest = hashlib.sha256()
    for name in _EMBEDDING_CODE:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]


def expected_manifest(knowledge: Knowledge, model: str) -> dict[str, Any]:
    return {
        "format": INDEX_FORMAT,
        "content_hash": knowledge.content_hash(),
        "model": model_identity(model),
        "code": code_hash(),
    }


def build_index(
    knowledge_dir: Path,
    index_dir: Path,
    model: str,
    embedder_factory: Callable[[str], Any] | None = None,
    force: bool = False,
) -> tuple[bool, dict[str, Any]]:
    """Build the index unless an up-to-date one exists; returns (rebuilt, manifest)."""
    knowledge = load_knowledge(knowledge_dir)
    wanted = expected_manifest(knowledge, model)
    if not force:
        try:
            # Loading, not only the manifest, so that damaged index files are rebuilt too.
            return False, load_index(knowledge_dir, index_dir, model).manifest
        except IndexNotReady:
            pass

    if embedder_factory is None:
        from bot.knowledge.embedder import Embedder

        embedder_factory = Embedder
    embedder = embedder_factory(model)
    passages = [p for s in knowledge.sources.values() for p in split_passages(s)]
    rows, texts, as_query = _rows(knowledge, passages)
    started = time.perf_counter()
    query_idx = [i for i, q in enumerate(as_query) if q]
    passage_idx = [i for i, q in enumerate(as_query) if not q]
    q_vecs = embedder.queries([texts[i] for i in query_idx])
    p_vecs = embedder.passages([texts[i] for i in passage_idx])
    vectors = np.zeros((len(texts), q_vecs.shape[1]), dtype=np.float32)
    vectors[query_idx] = q_vecs
    vectors[passage_idx] = p_vecs
    manifest = {
        **wanted,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "embedding_seconds": round(time.perf_counter() - started, 2),
        "facts": len(knowledge.facts),
        "passages": len(passages),
        "rows": len(rows),
        "dim": int(vectors.shape[1]),
    }

    # Written beside the target and switched in at once, so a reader never sees half an index.
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".index-", dir=index_dir.parent))
    try:
        np.save(tmp / "vectors.npy", vectors)
        (tmp / "rows.json").write_text(json.dumps([r.__dict__ for r in rows]))
        (tmp / "passages.json").write_text(json.dumps([p.__dict__ for p in passages], ensure_ascii=False))
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        # One builder switches at a time (the back office's rebuild and `bin/bot knowledge build` may overlap).
        with _switch_lock(index_dir.parent):
            current = _read_manifest(index_dir)
            if current is not None and _newer(current, manifest, knowledge_dir, model):
                # Another build finished meanwhile from knowledge edited after this one began: keep it.
                return False, current
            _switch(tmp, index_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return True, manifest


# renameat2(2)'s flag that swaps two paths in one step; Linux 3.15+, glibc 2.28+.
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Swaps two directories atomically; False where the system or file system cannot (the caller falls back)."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    done = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _switch(new: Path, index_dir: Path) -> None:
    """Puts the index in `new` at index_dir: a reader opens either the old index or the new one, never no
    index; afterwards `new` holds the old index (or nothing) and the caller removes it."""
    if index_dir.exists() and _exchange(new, index_dir):
        return
    # Without an atomic swap: the old index is moved aside, not deleted, until the new one is in place (a
    # reader arriving between the two renames finds no index for that moment).
    old = index_dir.with_name(index_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if index_dir.exists():
        os.replace(index_dir, old)
    os.replace(new, index_dir)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _switch_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on the index's folder itself (no lock file left among the knowledge files)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _read_manifest(index_dir: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads((index_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _newer(current: dict[str, Any], built: dict[str, Any], knowledge_dir: Path, model: str) -> bool:
    """The index in place matches the knowledge as it is now and the one just built does not."""
    try:
        wanted = expected_manifest(load_knowledge(knowledge_dir), model)
    except KnowledgeError:
        return False
    return all(current.get(k) == v for k, v in wanted.items()) and any(built.get(k) != v for k, v in wanted.items())


# A read that overlapped a switch is read again this many times before giving up.
_READ_ATTEMPTS = 3


def _manifest_bytes(index_dir: Path) -> bytes | None:
    try:
        return (index_dir / "manifest.json").read_bytes()
    except OSError:
        return None


def load_index(knowledge_dir: Path, index_dir: Path, model: str) -> KnowledgeIndex:
    """Load the index, refusing one that is missing or does not match the knowledge and model. A build may
    switch a new index in while the files are read (one of them from each index, or the old one removed under
    the reader): the manifest is read again at the end, and when it changed, the whole index is read again."""
    for attempt in range(_READ_ATTEMPTS):
        before = _manifest_bytes(index_dir)
        try:
            index = _load_index_once(knowledge_dir, index_dir, model)
        except IndexNotReady:
            if attempt + 1 < _READ_ATTEMPTS and _manifest_bytes(index_dir) != before:
                continue
            raise
        if _manifest_bytes(index_dir) == before:
            return index
    raise IndexNotReady(f"the knowledge index at {index_dir} kept changing while it was read: try again")


def _load_index_once(knowledge_dir: Path, index_dir: Path, model: str) -> KnowledgeIndex:
    knowledge = load_knowledge(knowledge_dir)
    manifest_path = index_dir / "manifest.json"
    if not manifest_path.is_file():
        raise IndexNotReady(f"no knowledge index at {index_dir}: {REBUILD_HINT}")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise IndexNotReady(f"the knowledge index manifest at {manifest_path} is unreadable: {REBUILD_HINT}") from exc
    if not isinstance(manifest, dict):
        raise IndexNotReady(f"the knowledge index manifest at {manifest_path} is unreadable: {REBUILD_HINT}")
    wanted = expected_manifest(knowledge, model)
    stale = [k for k, v in wanted.items() if manifest.get(k) != v]
    if stale:
        raise IndexNotReady(
            f"the knowledge index at {index_dir} is stale ({', '.join(stale)} changed since it was built): "
            f"{REBUILD_HINT}"
        )
    try:
        vectors = np.load(index_dir / "vectors.npy")
        rows = [Row(**r) for r in json.loads((index_dir / "rows.json").read_text())]
        passages = [Passage(**p) for p in json.loads((index_dir / "passages.json").read_text())]
    except (OSError, ValueError, TypeError, EOFError) as exc:
        raise IndexNotReady(f"the knowledge index at {index_dir} is unreadable ({exc}): {REBUILD_HINT}") from exc
    if len(rows) != vectors.shape[0]:
        raise IndexNotReady(f"the knowledge index at {index_dir} is inconsistent: {REBUILD_HINT}")
    return KnowledgeIndex(knowledge, {p.id: p for p in passages}, rows, vectors, manifest)
