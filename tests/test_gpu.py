"""The device path against the CPU: what runs on a GPU where one is lent (index build and scans in bf16, PRF's
nearest tokens, the dense encoder, training, a whole label job) gives what the CPU gives, within bf16's rounding.

Marked ``gpu`` (not in the default run). On a GPU: ``python -m pytest -m gpu tests/test_gpu.py``, as
``benchmarks/gpu_labels.sh`` does. ``CKD_TEST_DEVICE=cpu`` runs the same comparisons with the CPU on both
sides, to check the tests themselves where no GPU is lent. Every test here runs without Pyserini, Faiss or
Java, which the GPU image lacks.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from pyserini_ckd.data.records import Document

from conftest import DOCS, QUERIES, make_tiny_model, make_tiny_teacher, write_dataset, write_negatives
from test_teacher import _synthetic_index

pytestmark = pytest.mark.gpu

DEVICE = os.environ.get("CKD_TEST_DEVICE", "cuda")


@pytest.fixture(scope="module", autouse=True)
def _needs_the_device():
    if DEVICE.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip("no CUDA device (CKD_TEST_DEVICE=cpu checks these tests on the CPU)")


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    return make_tiny_teacher(tmp_path_factory.mktemp("gpu-teacher") / "li")


def test_token_index_built_on_the_device_holds_the_cpu_vectors(teacher_dir, tmp_path):
    """The build encodes under bf16 autocast on a GPU: each document's stored vectors (fp16) are the CPU
    build's within bf16's rounding; ids, lengths and token ids are the same."""
    from pyserini_ckd.teacher.late_interaction import LateInteractionEncoder
    from pyserini_ckd.teacher.token_index import build_token_index

    docs = [Document(d, t, x) for d, t, x in DOCS]
    cpu = build_token_index(LateInteractionEncoder.load(teacher_dir), docs, tmp_path / "cpu", batch_size=3)
    dev = build_token_index(LateInteractionEncoder.load(teacher_dir, DEVICE), docs, tmp_path / "dev", batch_size=3)
    assert dev.docids == cpu.docids and np.array_equal(dev.offsets, cpu.offsets)
    assert np.array_equal(dev.token_ids, cpu.token_ids)
    for i in range(cpu.num_docs):
        torch.testing.assert_close(dev.doc_tokens(i).float(), cpu.doc_tokens(i).float(), atol=2e-2, rtol=0)


@pytest.mark.parametrize("similarity", ["l2", "cosine"])
def test_scans_on_the_device_rank_as_the_exact_cpu_scan(tmp_path, similarity):
    """search_many on the device (a bf16 scan bounding what is scored exactly) returns the CPU's exact
    ranking and scores; nearest_tokens_many finds the CPU's exact nearest tokens."""
    from pyserini_ckd.teacher.token_index import TokenIndex

    idx = _synthetic_index(tmp_path / "ix", [3, 0, 7, 1, 12, 5, 5, 2] * 40, similarity=similarity)
    dev = TokenIndex.load(idx.path)
    dev.device = DEVICE
    torch.manual_seed(0)
    queries = [torch.nn.functional.normalize(torch.randn(m, 16), dim=-1) for m in (4, 9, 1)]
    weights = [None, torch.rand(9) + 0.5, None]
    for q, w, got in zip(queries, weights, dev.search_many(queries, 25, weights)):
        exact = idx.maxsim_all(q, w).numpy()
        order = np.lexsort((np.arange(idx.num_docs), -exact))[:25]
        assert [d for d, _ in got] == order.tolist()
        np.testing.assert_allclose([s for _, s in got], exact[order], rtol=1e-5, atol=1e-4)
    sets = [torch.randn(5, 16), torch.randn(3, 16)]
    dense = torch.from_numpy(np.asarray(idx.tokens, dtype=np.float32))
    for v, got in zip(sets, dev.nearest_tokens_many(sets, 7)):
        expected = (v @ dense.T).topk(7, dim=-1).indices
        assert [set(a) for a in got.cpu().tolist()] == [set(b) for b in expected.tolist()]


def test_dense_encoder_on_the_device(tmp_path):
    """The student encodes on the device (bf16 autocast on a GPU) to the CPU's fp32 vectors within bf16."""
    from pyserini_ckd.dense.encoder import DenseEncoder

    path = make_tiny_model(tmp_path / "m")
    texts = [f"{t} {x}" for _, t, x in DOCS]
    cpu = DenseEncoder.load(path).encode(texts, "passage", precision="fp32")
    dev = DenseEncoder.load(path, DEVICE).encode(texts, "passage")
    assert dev.shape == cpu.shape
    assert float((dev * cpu).sum(1).min()) > 0.999  # unit vectors: cosine to the fp32 ones


def test_training_on_the_device(tmp_path):
    """A few steps of the shared trainer on the device: finite losses, and a model folder the CPU loads."""
    from pyserini_ckd import train as train_cli
    from pyserini_ckd.dense.encoder import DenseEncoder

    data = write_dataset(tmp_path / "tiny")
    neg = write_negatives(tmp_path / "neg.jsonl")
    out = tmp_path / "student"
    train_cli.main(["--dataset", str(data), "--negatives", str(neg), "--init", str(make_tiny_model(tmp_path / "init")),
                    "--output", str(out), "--group-size", "3", "--batch-size", "2", "--steps", "3", "--device", DEVICE])
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in log if "loss" in r]
    assert losses and all(np.isfinite(losses))
    assert json.loads((out / "train_config.json").read_text())["config"]["device"] == DEVICE
    emb = DenseEncoder.load(out).encode([q for _, q in QUERIES], "query")
    assert np.isfinite(emb).all()


def _labeller(teacher_dir, tmp_path):
    """label(device, *flags) -> (records, meta): test_labeling's collective label job on the tiny dataset with
    ``teacher_dir``, on ``device``, each call in its own folder."""
    from test_labeling import _label

    setup = (tmp_path, write_dataset(tmp_path / "tiny"), write_negatives(tmp_path / "neg.jsonl"), teacher_dir)

    def label(device, *extra):
        out = tmp_path / "-".join([device.replace(":", "-"), *extra]) / "collective.jsonl"
        out.parent.mkdir(parents=True, exist_ok=True)
        return _label(setup, "collective", out, ["--teacher", str(teacher_dir), "--device", device, *extra])

    return label


def test_collective_labels_on_the_device_are_the_cpu_labels(teacher_dir, tmp_path):
    """The whole collective label job (index, ColBERT-PRF, scoring) on the device: the same queries,
    candidates and expansion tokens as on the CPU, scores within bf16's rounding."""
    label = _labeller(teacher_dir, tmp_path)
    cpu, _ = label("cpu")
    dev, meta = label(DEVICE)
    assert meta["device"] == DEVICE
    assert [r["qid"] for r in dev] == [r["qid"] for r in cpu]
    for a, b in zip(dev, cpu):
        assert [c["docid"] for c in a["candidates"]] == [c["docid"] for c in b["candidates"]]
        np.testing.assert_allclose([c["score"] for c in a["candidates"]], [c["score"] for c in b["candidates"]],
                                   rtol=0, atol=0.05 * max(1.0, max(abs(c["score"]) for c in b["candidates"])))
        assert [e["token"] for e in a["expansion"]] == [e["token"] for e in b["expansion"]]


def test_past_the_cpu_size_a_gpu_searches_exactly_in_its_memory(teacher_dir, tmp_path, monkeypatch):
    """Where the CPU's first stage would be approximate (past APPROX_FROM_TOKENS, lowered here), a GPU holds the
    index in its memory (device_in_memory_tokens) and searches it exactly: the labels of the exact first stage."""
    from pyserini_ckd.teacher import token_index

    label = _labeller(teacher_dir, tmp_path)
    monkeypatch.setattr(token_index, "APPROX_FROM_TOKENS", 10)

    exact, _ = label("cpu", "--first-stage", "exact")
    if not DEVICE.startswith("cuda"):  # on the CPU the first stage is the approximate one past that size
        pytest.importorskip("faiss")  # its centres (the GPU image has no Faiss; a GPU never gets here)
        assert label(DEVICE)[1]["first_stage"] != "exact"
        return
    dev, meta = label(DEVICE)
    assert meta["first_stage"] == "exact"
    for a, b in zip(dev, exact):
        assert [c["docid"] for c in a["candidates"]] == [c["docid"] for c in b["candidates"]]
