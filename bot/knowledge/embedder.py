"""Sentence embeddings with the e5 prompt convention ("query: " / "passage: ")."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from bot.knowledge.text import for_embedding

logger = logging.getLogger(__name__)


class Embedder:
    def __init__(self, model: str, threads: int = 1) -> None:
        # Imported here so that tools which only read the knowledge files do not pay for torch.
        import torch
        from sentence_transformers import SentenceTransformer

        # One short question is too little work to share between threads, and the Rasa server
        # needs the other core: measured here, one query took 32 ms on one thread and 670 ms on two
        # while the machine was busy.
        torch.set_num_threads(threads)
        from transformers.utils import logging as transformers_logging

        # The weight-loading progress bar would land in every server log and CLI run.
        transformers_logging.disable_progress_bar()

        # The model is a folder on disk; never let a missing file turn into a hub download.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.name = model
        self.model = SentenceTransformer(model, device="cpu")

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        vectors = self.model.encode(
            [prefix + for_embedding(t) for t in texts], batch_size=64, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query: ")

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage: ")


def model_identity(model: str) -> str:
    """What the index records about the model; a different model makes the index stale."""
    manifest = Path(model) / "manifest.json"
    if manifest.is_file():
        return f"{Path(model).name}:{hashlib.sha256(manifest.read_bytes()).hexdigest()[:16]}"
    return model
