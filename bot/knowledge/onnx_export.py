"""Set-up step: the embedding model as an ONNX graph, for the servers to embed without torch.

One graph from the model folder that model_prep builds, including e5's mean pooling and the L2
normalisation, so that the runtime (bot/knowledge/onnx_encoder.py) only tokenises and runs it:
`onnx/model.onnx` with its float32 weights beside it in `onnx/model.onnx.data`. Measured on the 2-core
machine (docs/profile.md): the vectors of sentence-transformers on torch (cosine 0.99999; the refitted
decision model is the same), one question in about 15 ms against torch's 36 ms on one thread, no torch in
the servers, and about 450 MB resident for the process instead of 800 with the weights inside the graph file
(onnxruntime maps an external weights file instead of copying it, and only the word-embedding rows of tokens
in use are read).

int8 dynamic quantisation was measured and is not used: quantising the weight matrices made a question
6 ms faster but moved the calibrated thresholds, and the refitted decision model got a held-out question
wrong; int8 word embeddings alone cost three held-out English answers for no time saved.
sentence-transformers' own ONNX export (optimum-onnx) requires transformers < 4.58, older than the one pinned
here, so the graph is exported with torch.onnx directly. The files are rebuilt when the model folder or this
recipe changes (`export.json` records both). Needs torch and onnx, which only set-up uses.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bot.knowledge.onnx_encoder import ONNX_FILE, RECORD_FILE, WEIGHTS_FILE

logger = logging.getLogger(__name__)

# A change here changes the vectors: the record then differs and set-up exports again.
RECIPE: dict[str, Any] = {
    "format": 1,
    "opset": 17,
    "pooling": "mean",
    "normalize": True,
    "weights": "external",
}
# How close the graph's vectors must stay to torch's (cosine) on the check sentences, or set-up fails.
MIN_COSINE = 0.9999
CHECK_SENTENCES = (
    "query: What are the priorities of the strategy?",
    "query: Kuka on projektipäällikkö?",
    "passage: Kymenlaakso focuses on bio- and circular economy, logistics and digitalisation.",
)


class ExportError(RuntimeError):
    pass


def wanted_record(model_dir: Path) -> dict[str, Any]:
    manifest = model_dir / "manifest.json"
    source = hashlib.sha256(manifest.read_bytes()).hexdigest()[:16] if manifest.is_file() else "no-manifest"
    return {**RECIPE, "model_manifest": source}


def is_up_to_date(model_dir: Path) -> bool:
    try:
        record = json.loads((model_dir / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return record == wanted_record(model_dir) and all((model_dir / f).is_file() for f in (ONNX_FILE, WEIGHTS_FILE))


def _export_float(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(model_dir)).eval()

    class Pooled(torch.nn.Module):
        """The transformer, then e5's pooling: the mean of the token vectors under the mask, L2-normalised."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    # Two rows of different lengths, so that the traced graph keeps batch and sequence dynamic.
    ids = torch.tensor([[0, 6, 5, 2], [0, 6, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    inputs = ("input_ids", "attention_mask", "token_type_ids")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on Python control flow it freezes, for every layer
        torch.onnx.export(
            Pooled(model),
            (ids, mask, torch.zeros_like(ids)),
            str(out),
            input_names=list(inputs),
            output_names=["sentence_embedding"],
            dynamic_axes={**{name: {0: "batch", 1: "tokens"} for name in inputs}, "sentence_embedding": {0: "batch"}},
            opset_version=RECIPE["opset"],
            dynamo=False,  # the TorchScript exporter needs no onnxscript, and this model traces cleanly
        )


def _check(reference: Any, model_dir: Path, graph: Path) -> float:
    """The lowest cosine between sentence-transformers' vectors (the torch backend) and the graph's."""
    from bot.knowledge.onnx_encoder import OnnxEncoder

    expected = reference.encode(
        list(CHECK_SENTENCES), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    got = OnnxEncoder(model_dir, graph).encode(list(CHECK_SENTENCES))
    return float((expected * got).sum(axis=1).min())


def _move_weights_out(graph: Path, out: Path) -> None:
    """The graph at `out` with its weights in one file beside it (WEIGHTS_FILE's name)."""
    import onnx

    model = onnx.load(str(graph))
    onnx.save_model(
        model, str(out), save_as_external_data=True, all_tensors_to_one_file=True, location=WEIGHTS_FILE.name,
        size_threshold=1024,
    )


def export_onnx(model_dir: Path) -> Path:
    """Writes <model_dir>/onnx/ unless it is up to date; returns the graph's path."""
    model_dir = Path(model_dir).absolute()
    target = model_dir / ONNX_FILE
    if is_up_to_date(model_dir):
        logger.info("ONNX model %s is up to date", target)
        return target
    from sentence_transformers import SentenceTransformer

    started = time.monotonic()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=target.parent) as tmp:
        single, graph = Path(tmp) / "single.onnx", Path(tmp) / ONNX_FILE.name
        _export_float(model_dir, single)
        _move_weights_out(single, graph)
        reference = SentenceTransformer(str(model_dir), device="cpu")
        cosine = _check(reference, model_dir, graph)
        if cosine < MIN_COSINE:
            raise ExportError(f"the ONNX graph's vectors differ from torch's (cosine {cosine:.5f})")
        # onnx writes the weights for its user only; the rest of the model folder is readable like any
        # installed file (a container's server runs under another account than the build).
        (Path(tmp) / WEIGHTS_FILE.name).chmod(0o644)
        # The graph names its weights file: both move, the weights first.
        os.replace(Path(tmp) / WEIGHTS_FILE.name, model_dir / WEIGHTS_FILE)
        os.replace(graph, target)
    # Last: a record names finished files only.
    record_tmp = target.parent / f".{RECORD_FILE.name}.tmp"
    record_tmp.write_text(json.dumps(wanted_record(model_dir), indent=2) + "\n", encoding="utf-8")
    os.replace(record_tmp, model_dir / RECORD_FILE)
    logger.info("ONNX model exported in %.1f s (cosine to torch >= %.5f)", time.monotonic() - started, cosine)
    return target
