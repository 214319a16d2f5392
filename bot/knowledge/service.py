"""The loaded knowledge (index, model, retriever) shared by the actions of one process.

A new index on disk (`bin/bot knowledge build`, or the back office's Review page teaching the bot a question) is
taken up without a restart: at most once per second per process, `get_service()` looks at the index manifest's
file; when it changed, the new index is loaded and checked against the knowledge on a thread of its own (with
the same embedder, and the decision model read again) while the current one keeps answering, then swapped in at
once. An index that cannot be used leaves the current one serving, and the log says why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.gc_freeze import freeze_loaded_objects
from bot.knowledge.calibration import DecisionModel
from bot.knowledge.fact_classifier import FactClassifier
from bot.knowledge.index import REBUILD_HINT, IndexNotReady, KnowledgeIndex, expected_manifest, load_index
from bot.knowledge.retrieval import Retriever
from bot.knowledge.store import KnowledgeError, load_knowledge
from bot.settings import get_settings

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_service: KnowledgeService | None = None
# The calibrated answer/decline model (bot/knowledge/calibration.py), fitted by bench/decision_calibrate.py
# into the knowledge folder because it is fitted on this knowledge's index.
DECISION_MODEL_FILE = "decision_model.json"
# Fitted with it, and read only together with it (bot/knowledge/fact_classifier.py).
FACT_CLASSIFIER_FILE = "fact_classifier.json"
REFIT_HINT = "refit it with `.venv-actions/bin/python bench/decision_calibrate.py --fit` (docs/calibration.md)"


# How often a process looks whether a new index was switched in (one stat() of the manifest).
RELOAD_CHECK_SECONDS = 1.0


@dataclass
class KnowledgeService:
    index: KnowledgeIndex
    retriever: Retriever
    # What the index's manifest file looked like when this index was read (see manifest_signature).
    signature: tuple[Any, ...] | None = None


def manifest_signature(index_dir: Path) -> tuple[Any, ...] | None:
    """Cheap identity of the index in place: a switched-in index brings a new manifest file (another inode)."""
    try:
        status = os.stat(index_dir / "manifest.json")
    except OSError:
        return None
    return (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_size)


def check_index() -> None:
    """Cheap check (no model, no vectors) that the index matches the knowledge and the model."""
    settings = get_settings()
    try:
        knowledge = load_knowledge(settings.knowledge_dir)
    except KnowledgeError as exc:
        raise IndexNotReady(f"the knowledge files are invalid ({exc}): fix them, then {REBUILD_HINT}") from exc
    manifest_path = settings.index_dir / "manifest.json"
    if not manifest_path.is_file():
        raise IndexNotReady(f"no knowledge index at {settings.index_dir}: {REBUILD_HINT}")
    manifest = json.loads(manifest_path.read_text())
    stale = [k for k, v in expected_manifest(knowledge, settings.embedding_model).items() if manifest.get(k) != v]
    if stale:
        raise IndexNotReady(
            f"the knowledge index at {settings.index_dir} is stale ({', '.join(stale)} changed): {REBUILD_HINT}"
        )


def retrieval_code_hash() -> str:
    """The code that computes the model's signals; recorded at the fit, compared at the load."""
    return hashlib.sha256((Path(__file__).parent / "retrieval.py").read_bytes()).hexdigest()[:16]


def load_decision_model(knowledge_dir: Path, index: KnowledgeIndex | None = None) -> DecisionModel | None:
    """The calibrated model when the knowledge folder has one; without it the hand-set rules decide. A file
    that cannot be read is logged and the rules decide, as before the model existed."""
    path = knowledge_dir / DECISION_MODEL_FILE
    if not path.is_file():
        return None
    try:
        model = DecisionModel.load(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.error("the decision model %s cannot be read (%s); the hand-set thresholds decide", path, exc)
        return None
    # Still used: the signals of a changed knowledge or retrieval are mostly alike, and a refit needs a person.
    fitted_on = model.info.get("index_content_hash")
    if index is not None and fitted_on and fitted_on != index.manifest.get("content_hash"):
        logger.warning("the decision model was fitted on another version of the knowledge: %s", REFIT_HINT)
    if model.info.get("retrieval_code") not in (None, retrieval_code_hash()):
        logger.warning("the decision model was fitted with other retrieval code: %s", REFIT_HINT)
    logger.info("decision model loaded from %s (thresholds %s)", path, model.thresholds)
    return model


def load_fact_classifier(knowledge_dir: Path, model: DecisionModel | None) -> FactClassifier | None:
    """The fact classifier fitted with the decision model (its signals are the model's inputs): used only when
    its file is the one the model was fitted with (the hash the fit recorded), so that the two never mix."""
    path = knowledge_dir / FACT_CLASSIFIER_FILE
    if model is None or not path.is_file():
        return None
    expected = model.info.get("fact_classifier_sha256")
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if expected != actual:
        logger.error("the fact classifier %s is not the one the decision model was fitted with: %s", path, REFIT_HINT)
        return None
    try:
        return FactClassifier.load(path)
    except (OSError, ValueError, KeyError) as exc:
        logger.error("the fact classifier %s cannot be read (%s); the decision goes without it", path, exc)
        return None


class _Reloads:
    """When the index was last looked at, whether a reload is under way, and the index that failed last."""

    def __init__(self) -> None:
        self.checked = 0.0
        self.running = False
        self.failed: tuple[Any, ...] | None = None
        self.last_error = ""
        self.swaps = 0


_reloads = _Reloads()


def _load(embedder: Any | None = None) -> KnowledgeService:
    """Index, decision model and retriever from the settings' folders; the embedder is loaded unless given."""
    settings = get_settings()
    for _ in range(3):
        signature = manifest_signature(settings.index_dir)
        index = load_index(settings.knowledge_dir, settings.index_dir, settings.embedding_model)
        if manifest_signature(settings.index_dir) == signature:
            break  # else switched again while it was read: read the newer one
    if embedder is None:
        from bot.knowledge.embedder import Embedder

        embedder = Embedder(settings.embedding_model, threads=settings.torch_threads)
    model = load_decision_model(settings.knowledge_dir, index)
    retriever = Retriever(index, embedder, model=model, classifier=load_fact_classifier(settings.knowledge_dir, model))
    # The first encode pays for lazy initialisation inside the runtime (onnxruntime or torch); do it now.
    retriever.rank("warm-up")
    return KnowledgeService(index, retriever, signature)


def get_service() -> KnowledgeService:
    """Load once per process; later calls return the same service, or the one of a newer index (see above)."""
    global _service
    with _lock:
        if _service is None:
            started = time.perf_counter()
            _service = _load()
            logger.info("knowledge loaded in %.1f s", time.perf_counter() - started)
        else:
            _check_for_new_index(_service)
        return _service


def _check_for_new_index(current: KnowledgeService) -> None:
    """Called under _lock: starts a reload when the manifest changed (looked at once per second at most)."""
    now = time.monotonic()
    if _reloads.running or now - _reloads.checked < RELOAD_CHECK_SECONDS:
        return
    _reloads.checked = now
    signature = manifest_signature(get_settings().index_dir)
    if signature is None or signature == current.signature or signature == _reloads.failed:
        return
    _reloads.running = True
    threading.Thread(target=_reload, args=(current, signature), name="knowledge-reload", daemon=True).start()


def _reload(current: KnowledgeService, signature: tuple[Any, ...]) -> None:
    """Loads the index whose manifest has `signature`; that index is not tried again once it failed (the next
    build brings a new manifest)."""
    global _service
    settings = get_settings()
    started = time.perf_counter()
    try:
        fresh = _load(current.retriever.embedder)
    except Exception as exc:  # whatever it is, the index in use keeps serving
        with _lock:
            _reloads.failed, _reloads.last_error, _reloads.running = signature, str(exc), False
        logger.error(
            "the new knowledge index at %s cannot be used (%s); the previous index (built %s) keeps serving",
            settings.index_dir, exc, current.index.manifest.get("built_at"),
        )
        return
    with _lock:
        _service = fresh
        _reloads.failed, _reloads.last_error, _reloads.running = None, "", False
        _reloads.swaps += 1
    logger.info(
        "knowledge index switched without a restart in %.1f s: built %s, %s facts (was built %s)",
        time.perf_counter() - started, fresh.index.manifest.get("built_at"), fresh.index.manifest.get("facts"),
        current.index.manifest.get("built_at"),
    )


def reload_status() -> dict[str, Any]:
    """For logs and tests: the index serving, the reloads done, and why the last new index was refused."""
    with _lock:
        serving = _service.index.manifest if _service is not None else None
        return {
            "serving_built_at": serving.get("built_at") if serving else None,
            "serving_content_hash": serving.get("content_hash") if serving else None,
            "reloading": _reloads.running,
            "swaps": _reloads.swaps,
            "last_error": _reloads.last_error,
        }


def warm_up_in_background() -> None:
    def load() -> None:
        try:
            get_service()
        except Exception:  # the first request reports the same failure to the user and the log
            logger.exception("loading the knowledge failed")
            return
        freeze_loaded_objects("action server")

    threading.Thread(target=load, name="knowledge-warm-up", daemon=True).start()
