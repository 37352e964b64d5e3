"""Pyserini's own CLIs (search.faiss, search.hybrid, encode) and other clients on our models and indexes.

The README's claims about Pyserini and sentence-transformers each point at a test here.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import faiss
import numpy as np
import pytest

from pyserini_ckd import encode as encode_cli
from pyserini_ckd import search as search_cli
from pyserini_ckd.data.runs import read_run
from pyserini_ckd.dense import DenseEncoder
from pyserini_ckd.dense.pyserini_cli import prepare
from pyserini_ckd.errors import ConfigError

from conftest import QUERIES, write_dataset


def pyserini_run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pyserini_ckd.pyserini_run", *argv],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_model, tiny_bm25_index):
    """A model whose path names another encoder class ('dpr' wins Pyserini's keyword look-up), its index
    (ours, fp32), topics, and our own dense and hybrid runs."""
    root = tmp_path_factory.mktemp("clients")
    data = write_dataset(root / "tiny")
    model = root / "student-dpr-auto"
    shutil.copytree(tiny_model, model)
    index = root / "dense-index"
    encode_cli.main(["input", "--corpus", str(data), "output", "--embeddings", str(index),
                     "encoder", "--encoder", str(model), "--fp32"])
    topics = root / "topics.tsv"
    topics.write_text("".join(f"{q}\t{t}\n" for q, t in QUERIES))
    ours = root / "ours.dense.trec"
    search_cli.main(["--topics", str(topics), "--dense", str(index), "--encoder", str(model), "--output", str(ours),
                     "--hits", "8"])
    ours_hybrid = root / "ours.hybrid.trec"
    search_cli.main(["--topics", str(topics), "--bm25", str(tiny_bm25_index), "--dense", str(index),
                     "--fusion", "linear", "--alpha", "1.0", "--normalization", "--output", str(ours_hybrid), "--hits", "8"])
    return {"data": data, "model": model, "index": index, "topics": topics, "bm25": tiny_bm25_index,
            "ours": read_run(ours), "ours_hybrid": read_run(ours_hybrid), "root": root}


def rankings(run) -> dict:
    return {q: [h.docid for h in hits] for q, hits in run.items()}


def test_pyserini_search_faiss_picks_our_encoder_whatever_the_path(setup, tmp_path):
    """Claim: Pyserini's `search.faiss` through pyserini_run ranks as `pyserini_ckd.search --dense`, with no
    pooling flag and a path that names DPR; `--encoder-class ckd` is accepted (the command line the run without
    it becomes, so Pyserini's parser takes it there); the index alone is enough (it becomes the same flags too)."""
    out = tmp_path / "faiss.trec"
    index_only = ["--index", str(setup["index"]), "--topics", str(setup["topics"]), "--output", str(out),
                  "--hits", "8", "--device", "cpu"]
    argv = index_only + ["--encoder", str(setup["model"])]

    def flags(tokens):
        return dict(zip(tokens[::2], tokens[1::2]))

    prepared = prepare("pyserini.search.faiss", argv)
    assert prepared == prepare("pyserini.search.faiss", argv + ["--encoder-class", "ckd"])
    assert prepared[-2:] == ["--encoder-class", "ckd"]
    assert flags(prepare("pyserini.search.faiss", index_only)) == flags(prepared)
    proc = pyserini_run("pyserini.search.faiss", *argv)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert rankings(read_run(out)) == rankings(setup["ours"])
    assert "ModuleNotFoundError" not in proc.stderr + proc.stdout


def test_pyserini_search_hybrid_equals_our_hybrid(setup, tmp_path):
    """Claim: Pyserini's `search.hybrid` through pyserini_run gives our linear fusion's ranking."""
    out = tmp_path / "hybrid.trec"
    proc = pyserini_run("pyserini.search.hybrid", "dense", "--index", str(setup["index"]), "--encoder", str(setup["model"]),
                        "--device", "cpu", "sparse", "--index", str(setup["bm25"]),
                        "fusion", "--alpha", "1.0", "--normalization", "run", "--topics", str(setup["topics"]),
                        "--output", str(out), "--hits", "8")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert rankings(read_run(out)) == rankings(setup["ours_hybrid"])


def test_pyserini_encode_needs_no_dimension_nor_class(setup, tmp_path):
    """Claim: Pyserini's `encode` through pyserini_run takes the dimension and length from our model and
    writes the vectors `pyserini_ckd.encode` writes; a --dimension that agrees with the model is kept."""
    out = tmp_path / "encoded"
    argv = ["input", "--corpus", str(setup["data"] / "corpus.jsonl"), "--fields", "title", "text", "output",
            "--embeddings", str(out), "--to-faiss", "encoder", "--encoder", str(setup["model"]), "--fields", "title",
            "text", "--device", "cpu"]
    given = prepare("pyserini.encode", argv + ["--dimension", "32"])
    assert given[given.index("--dimension") + 1] == "32" and given.count("--dimension") == 1
    assert given[given.index("--encoder-class") + 1] == "ckd"
    proc = pyserini_run("pyserini.encode", *argv)
    assert proc.returncode == 0, proc.stderr[-2000:]
    theirs, ours = faiss.read_index(str(out / "index")), faiss.read_index(str(setup["index"] / "index"))
    assert theirs.d == 32
    assert (out / "docid").read_text().split() == (setup["index"] / "docid").read_text().split()
    cos = (theirs.reconstruct_n(0, 8) * ours.reconstruct_n(0, 8)).sum(1)
    assert cos.min() > 0.999


def test_contradicting_flags_stop_before_any_work(setup, tmp_path):
    model, index = str(setup["model"]), str(setup["index"])
    out = tmp_path / "never.trec"
    proc = pyserini_run("pyserini.search.faiss", "--index", index, "--topics", str(setup["topics"]),
                        "--encoder", model, "--pooling", "cls", "--output", str(out))
    assert proc.returncode == 2 and not out.exists()
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--pooling cls contradicts" in lines[0] and "Traceback" not in proc.stderr
    cases = [
        (["--index", index, "--encoder", model, "--encoder-class", "auto"], "would encode with cls pooling"),
        (["--index", index, "--encoder", model, "--encoder-class", "dpr"], "does not pool as"),
    ]
    for argv, message in cases:
        with pytest.raises(ConfigError, match=message):
            prepare("pyserini.search.faiss", argv)
    with pytest.raises(ConfigError, match="--dimension 768 contradicts"):
        prepare("pyserini.encode", ["input", "--corpus", "c", "output", "--embeddings", "e", "encoder",
                                    "--encoder", model, "--dimension", "768"])
    with pytest.raises(ConfigError, match="--l2-norm contradicts"):
        unnormalised = setup["root"] / "unnormalised"
        if not unnormalised.exists():
            from conftest import make_tiny_model
            make_tiny_model(unnormalised, normalize=False)
        prepare("pyserini.search.hybrid", ["dense", "--index", "x", "--encoder", str(unnormalised), "--l2-norm",
                                           "run", "--topics", "t"])
    # the right flags for Pyserini's own AutoQueryEncoder are accepted and left as they are
    argv = ["--index", index, "--encoder", model, "--encoder-class", "auto", "--pooling", "mean", "--l2-norm"]
    assert prepare("pyserini.search.faiss", argv) == argv


def test_prepare_leaves_other_models_and_modules_alone(tmp_path):
    argv = ["--index", str(tmp_path), "--encoder", "castorini/tct_colbert-msmarco", "--topics", "t"]
    assert prepare("pyserini.search.faiss", argv) == argv
    assert prepare("pyserini.eval.trec_eval", ["-c", "--encoder", "x"]) == ["-c", "--encoder", "x"]
    minilm = prepare("pyserini.search.faiss", ["--index", str(tmp_path), "--encoder", "minilm"])
    assert minilm[minilm.index("--encoder") + 1] != "minilm" and minilm[-2:] == ["--encoder-class", "ckd"]
    from pyserini_ckd.dense.pyserini_cli import model_record

    # a contradiction names the file the settings were read from: sentence-transformers' for MiniLM as shipped
    assert model_record("minilm").source.endswith("modules.json")
    with pytest.raises(ConfigError, match="modules.json, which records pooling 'mean'"):
        prepare("pyserini.search.faiss", ["--index", str(tmp_path), "--encoder", "minilm", "--pooling", "cls"])


def test_one_maximum_length_for_every_client(tiny_model):
    """Claim: a long query embeds the same through our encoder, sentence-transformers, Pyserini's
    CkdQueryEncoder and Pyserini's AutoQueryEncoder(mean, l2): the folder records one maximum length."""
    from pyserini.encode import AutoQueryEncoder
    from sentence_transformers import SentenceTransformer

    from pyserini_ckd.dense.pyserini_encoders import CkdQueryEncoder

    long_query = " ".join(["vitamin", "aspirin", "coffee", "heart", "sleep"] * 30)  # 150 words, limit 48 tokens
    ours = DenseEncoder.load(tiny_model).encode([long_query], kind="query", precision="fp32")[0]
    assert DenseEncoder.load(tiny_model).config.query_max_length == 48
    st = SentenceTransformer(str(tiny_model), device="cpu").encode([long_query])[0]
    ckd = CkdQueryEncoder(str(tiny_model)).encode(long_query)
    auto = AutoQueryEncoder(str(tiny_model), pooling="mean", l2_norm=True).encode(long_query)
    for other in (st, ckd, auto):
        np.testing.assert_allclose(other, ours, atol=1e-5)


def test_saved_weights_are_readable_like_the_other_files(tiny_model):
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in Path(tiny_model).iterdir() if p.is_file()}
    assert modes["model.safetensors"] == modes["config.json"], modes
    assert modes["model.safetensors"] & 0o044 == 0o044 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
