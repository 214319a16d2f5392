"""The loaded knowledge (index, model, retriever) shared by the actions of one process."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.calibration import DecisionModel
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
REFIT_HINT = "refit it with `.venv-actions/bin/python bench/decision_calibrate.py --fit` (docs/calibration.md)"


@dataclass
class KnowledgeService:
    index: KnowledgeIndex
    retriever: Retriever


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


def get_service() -> KnowledgeService:
    """Load once per process; later calls return the same service."""
    global _service
    with _lock:
        if _service is None:
            from bot.knowledge.embedder import Embedder

            settings = get_settings()
            started = time.perf_counter()
            index = load_index(settings.knowledge_dir, settings.index_dir, settings.embedding_model)
            embedder = Embedder(settings.embedding_model, threads=settings.torch_threads)
            retriever = Retriever(index, embedder, model=load_decision_model(settings.knowledge_dir, index))
            # The first encode pays for lazy initialisation inside torch; do it now, not for a user.
            retriever.rank("warm-up")
            _service = KnowledgeService(index, retriever)
            logger.info("knowledge loaded in %.1f s", time.perf_counter() - started)
        return _service


def warm_up_in_background() -> None:
    def load() -> None:
        try:
            get_service()
        except Exception:  # the first request reports the same failure to the user and the log
            logger.exception("loading the knowledge failed")

    threading.Thread(target=load, name="knowledge-warm-up", daemon=True).start()
