"""Set-up step: the embedding model as ONNX graphs, for the servers to embed without torch.

Two files from the model folder that model_prep builds, each one graph that includes e5's mean pooling and
the L2 normalisation, so that the runtime (bot/knowledge/onnx_encoder.py) only tokenises and runs it.
Measured on the 2-core machine (docs/profile.md):

- `onnx/model.onnx`, float32, the default: the vectors of sentence-transformers on torch (cosine 0.99999;
  the refitted decision model is the same, the FAQ suite's answers are unchanged), one question in about
  16 ms against torch's 36 ms on one thread, and no torch in the servers.
- `onnx/model_qint8.onnx` (RIS3_EMBEDDING_BACKEND=onnx-int8): the word embeddings (250,000 x 384, four
  fifths of the weights) stored as int8 rows by onnxruntime's dynamic quantisation, per row; 173 MB instead of
  470 and about 300 MB less resident memory per process, as fast. Cosine 0.9999 on average, 0.9989 at worst,
  but the refitted decision model answered 3 of 52 answerable held-out English questions fewer (none wrong).
  Quantising the weight matrices too (as sentence-transformers' int8 export does) made a question 6 ms faster
  but the decision model got a held-out question wrong: not offered.

The optimum exporter that sentence-transformers' ONNX backend uses would need transformers < 4.58, older
than the one pinned here, so the graph is exported with torch.onnx directly. The files are rebuilt when the
model folder or this recipe changes (`export.json` records both). Needs torch and onnx, which only set-up
uses.
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

from bot.knowledge.onnx_encoder import ONNX_FILES, RECORD_FILE

logger = logging.getLogger(__name__)

# A change here changes the vectors: the record then differs and set-up exports again.
RECIPE: dict[str, Any] = {
    "format": 1,
    "opset": 17,
    "pooling": "mean",
    "normalize": True,
    "onnx-int8": {"kind": "dynamic", "weight_type": "QInt8", "per_channel": True, "ops": ["Gather"]},
}
# How close each file's vectors must stay to torch's float32 (cosine) on the check sentences, or set-up fails.
MIN_COSINE = {"onnx": 0.9999, "onnx-int8": 0.995}
CHECK_SENTENCES = (
    "query: What are the priorities of the strategy?",
    "query: Kuka on projektipäällikkö?",
    "passage: Kymenlaakso focuses on bio- and circular economy, logistics and digitalisation.",
)


class ExportError(RuntimeError):
    pass


class _NoPreprocessingAdvice(logging.Filter):
    """onnxruntime's quantiser advises shape pre-processing on the root logger, in every set-up's output; the
    result is checked against float32 instead (_check)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def wanted_record(model_dir: Path) -> dict[str, Any]:
    manifest = model_dir / "manifest.json"
    source = hashlib.sha256(manifest.read_bytes()).hexdigest()[:16] if manifest.is_file() else "no-manifest"
    return {**RECIPE, "model_manifest": source}


def is_up_to_date(model_dir: Path) -> bool:
    try:
        record = json.loads((model_dir / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return record == wanted_record(model_dir) and all((model_dir / f).is_file() for f in ONNX_FILES.values())


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


def export_onnx(model_dir: Path) -> Path:
    """Writes <model_dir>/onnx/ (both files) unless up to date; returns the folder."""
    model_dir = Path(model_dir).absolute()
    folder = model_dir / RECORD_FILE.parent
    if is_up_to_date(model_dir):
        logger.info("ONNX models in %s are up to date", folder)
        return folder
    from onnxruntime.quantization import QuantType, quantize_dynamic

    started = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=folder) as tmp:
        built = {backend: Path(tmp) / path.name for backend, path in ONNX_FILES.items()}
        _export_float(model_dir, built["onnx"])
        advice = _NoPreprocessingAdvice()
        logging.getLogger().addFilter(advice)
        try:
            # The word embeddings alone: a row is looked up, not multiplied, so int8 rows change the vectors
            # least. The float graph itself is the default.
            quantize_dynamic(
                str(built["onnx"]), str(built["onnx-int8"]), weight_type=QuantType.QInt8, per_channel=True,
                op_types_to_quantize=["Gather"],
            )
        finally:
            logging.getLogger().removeFilter(advice)
        from sentence_transformers import SentenceTransformer

        reference = SentenceTransformer(str(model_dir), device="cpu")
        for backend, path in built.items():
            cosine = _check(reference, model_dir, path)
            if cosine < MIN_COSINE[backend]:
                raise ExportError(f"{path.name}: its vectors drift too far from torch's (cosine {cosine:.4f})")
            logger.info("%s: cosine to torch float32 >= %.4f", path.name, cosine)
        for backend, path in built.items():
            os.replace(path, model_dir / ONNX_FILES[backend])
    # Last: a record names finished files only.
    record_tmp = folder / f".{RECORD_FILE.name}.tmp"
    record_tmp.write_text(json.dumps(wanted_record(model_dir), indent=2) + "\n", encoding="utf-8")
    os.replace(record_tmp, model_dir / RECORD_FILE)
    logger.info("ONNX models exported in %.1f s", time.monotonic() - started)
    return folder
