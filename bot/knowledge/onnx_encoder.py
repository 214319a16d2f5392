"""Sentence vectors from the ONNX graph that set-up exports (bot/knowledge/onnx_export.py).

Only onnxruntime, the tokenizers library and numpy: the servers that embed questions never import torch.
The graph pools and normalises itself; this module tokenises, pads a batch and runs it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ONNX_FILE = Path("onnx") / "model.onnx"
WEIGHTS_FILE = Path("onnx") / "model.onnx.data"  # named inside the graph: it stays beside it
RECORD_FILE = Path("onnx") / "export.json"
DEFAULT_MAX_TOKENS = 512
# A batch's activations grow with its rows times its padded width (attention with the width's square): at 2,048
# tokens, four 512-token texts or 64 short questions go together, some 50 MB a layer at most.
LOW_MEMORY_BATCH_TOKENS = 2048


def _max_tokens(model_dir: Path) -> int:
    """The truncation length sentence-transformers uses for this folder."""
    try:
        config = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(config.get("max_seq_length") or DEFAULT_MAX_TOKENS)
    except (OSError, ValueError, TypeError):
        return DEFAULT_MAX_TOKENS


class OnnxEncoder:
    """`low_memory`: for a process that embeds many texts now and then (the back office's Review grouping) rather
    than one question at a time: no memory arena (onnxruntime's arena keeps the largest batch's memory for the
    life of the session: 3 GB after a few hundred 2,000-character messages in batches of 64) and batches of at
    most LOW_MEMORY_BATCH_TOKENS padded tokens."""

    def __init__(
        self, model_dir: Path | str, path: Path = ONNX_FILE, threads: int = 1, low_memory: bool = False
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        options = onnxruntime.SessionOptions()
        # As with torch (embedder.py): one short question is too little work to share between threads.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.max_batch_tokens: int | None = None
        if low_memory:
            options.enable_cpu_mem_arena = False
            self.max_batch_tokens = LOW_MEMORY_BATCH_TOKENS
        self.session = onnxruntime.InferenceSession(
            str(path if path.is_absolute() else model_dir / path), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(_max_tokens(model_dir))

    def tokenize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        return ids, mask

    def _batches(self, order: list[int], texts: list[str], batch_size: int) -> list[list[int]]:
        """Consecutive runs of `order` (texts shortest first) of at most batch_size texts and, in low-memory mode,
        at most max_batch_tokens padded tokens (the longest text's tokens times the rows)."""
        if self.max_batch_tokens is None:
            return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        lengths = [len(e.ids) for e in self.tokenizer.encode_batch([texts[i] for i in order])]
        batches: list[list[int]] = []
        chunk: list[int] = []
        width = 0
        for index, length in zip(order, lengths, strict=True):
            wider = max(width, length)
            if chunk and (len(chunk) >= batch_size or (len(chunk) + 1) * wider > self.max_batch_tokens):
                batches.append(chunk)
                chunk, wider = [], length
            chunk.append(index)
            width = wider
        if chunk:
            batches.append(chunk)
        return batches

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.session.get_outputs()[0].shape[-1] or 0), dtype=np.float32)
        # Similar lengths together: a batch is padded to its longest text.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[np.ndarray] = [np.empty(0)] * len(texts)
        for chunk in self._batches(order, texts, batch_size):
            ids, mask = self.tokenize([texts[i] for i in chunk])
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            (out,) = self.session.run(["sentence_embedding"], feed)
            for i, vector in zip(chunk, out, strict=True):
                vectors[i] = vector
        return np.asarray(vectors, dtype=np.float32)
