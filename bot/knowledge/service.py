"""The loaded knowledge (index, model, retriever) shared by the actions of one process."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass

from bot.knowledge.index import REBUILD_HINT, IndexNotReady, KnowledgeIndex, expected_manifest, load_index
from bot.knowledge.retrieval import Retriever
from bot.knowledge.store import KnowledgeError, load_knowledge
from bot.settings import get_settings

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_service: KnowledgeService | None = None


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
            retriever = Retriever(index, embedder)
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
