"""Sentence embeddings with the e5 prompt convention ("query: " / "passage: ").

Two backends for the same model: the ONNX graph that set-up exports (onnxruntime; the default where it
exists: torch's vectors, 15 ms a question instead of 36, no torch in the process and half the memory:
bot/knowledge/onnx_export.py) and sentence-transformers on torch (for a model folder without the export).
The index records which one built it, so that questions are always embedded like the index they are
compared with.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bot.knowledge.onnx_encoder import ONNX_FILE, RECORD_FILE
from bot.knowledge.text import for_embedding

logger = logging.getLogger(__name__)

BACKENDS = ("onnx", "torch")
# Questions repeat (a press release sends many people with the same question; follow-ups embed the same
# asked part again): about 1.5 KB a vector, so a few thousand cost a few MB.
QUERY_CACHE_SIZE = 4096


class EmbeddingBackendError(RuntimeError):
    pass


def backend_of(model: str) -> str:
    """RIS3_EMBEDDING_BACKEND when set, else ONNX wherever set-up exported it."""
    from bot.settings import get_settings

    chosen = get_settings().embedding_backend
    if chosen == "auto":
        return "onnx" if (Path(model) / ONNX_FILE).is_file() else "torch"
    if chosen == "onnx" and not (Path(model) / ONNX_FILE).is_file():
        raise EmbeddingBackendError(
            f"RIS3_EMBEDDING_BACKEND=onnx, but {Path(model) / ONNX_FILE} is missing: run `make setup`"
        )
    return chosen


def _torch_encoder(model: str, threads: int) -> Callable[[list[str]], np.ndarray]:
    # Imported here so that the ONNX backend and tools which only read the knowledge files do not pay for torch.
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # One short question is too little work to share between threads, and the Rasa server needs the other
    # core: measured here, one query took 32 ms on one thread and 670 ms on two while the machine was busy.
    torch.set_num_threads(threads)
    # The weight-loading progress bar would land in every server log and CLI run.
    transformers_logging.disable_progress_bar()
    # The model is a folder on disk; never let a missing file turn into a hub download.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    st = SentenceTransformer(model, device="cpu")

    def encode(texts: list[str]) -> np.ndarray:
        return st.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)

    return encode


class Embedder:
    """`low_memory`: memory handed back after each batch rather than kept for speed (bot/knowledge/onnx_encoder.py),
    for the back office, which embeds a whole Review queue now and then."""

    def __init__(self, model: str, threads: int = 1, backend: str | None = None, low_memory: bool = False) -> None:
        self.name = model
        self.backend = backend or backend_of(model)
        if self.backend == "onnx":
            from bot.knowledge.onnx_encoder import OnnxEncoder

            self._encode_texts = OnnxEncoder(model, threads=threads, low_memory=low_memory).encode
        elif self.backend == "torch":
            self._encode_texts = _torch_encoder(model, threads)
        else:
            raise EmbeddingBackendError(f"unknown embedding backend {self.backend!r} (one of {', '.join(BACKENDS)})")
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_hits = 0

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        vectors = self._encode_texts([prefix + for_embedding(t) for t in texts])
        return np.asarray(vectors, dtype=np.float32)

    def queries(self, texts: list[str]) -> np.ndarray:
        with self._cache_lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for text in found:
                self._cache.move_to_end(text)
            self.cache_hits += len(found)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = self._encode(missing, "query: ")
            fresh.flags.writeable = False  # shared by every later caller of the same question
            with self._cache_lock:
                for text, vector in zip(missing, fresh, strict=True):
                    found[text] = self._cache[text] = vector
                while len(self._cache) > QUERY_CACHE_SIZE:
                    self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage: ")


def model_identity(model: str) -> str:
    """What the index records about the model and the backend; another one makes the index stale."""
    backend = backend_of(model)
    manifest = Path(model) / "manifest.json"
    if not manifest.is_file():
        return model
    identity = f"{Path(model).name}:{hashlib.sha256(manifest.read_bytes()).hexdigest()[:16]}"
    if backend == "onnx":
        record = Path(model) / RECORD_FILE
        recipe = hashlib.sha256(record.read_bytes()).hexdigest()[:8] if record.is_file() else "unrecorded"
        return f"{identity}:{backend}-{recipe}"
    return identity
