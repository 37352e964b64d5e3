"""Encoding to Pyserini's layout, searching with Pyserini's FaissSearcher and HybridSearcher, mismatch checks."""

import json

import faiss
import numpy as np
import pytest

from pyserini_ckd import encode as encode_cli
from pyserini_ckd import search as search_cli
from pyserini_ckd.data.runs import read_run
from pyserini_ckd.dense import DenseEncoder
from pyserini_ckd.dense.faiss_index import read_meta

from conftest import make_tiny_model, run_cli_expect_error


@pytest.fixture(scope="module")
def tiny_dense(tmp_path_factory, tiny_model):
    from conftest import write_dataset

    root = write_dataset(tmp_path_factory.mktemp("dense") / "tiny")
    out = root.parent / "dense-index"
    encode_cli.main(["input", "--corpus", str(root), "output", "--embeddings", str(out), "--to-faiss",
                     "encoder", "--encoder", str(tiny_model), "--batch-size", "3", "--fp32"])
    return root, out


def test_encode_writes_pyserini_layout(tiny_dense, tiny_model):
    root, out = tiny_dense
    meta = read_meta(out)
    assert (meta.dimension, meta.passages, meta.pooling, meta.normalize) == (32, 8, "mean", True)
    assert (out / "docid").read_text().split() == [f"d{i}" for i in range(1, 9)]
    index = faiss.read_index(str(out / "index"))
    assert isinstance(index, faiss.IndexFlatIP) and index.ntotal == 8
    model = DenseEncoder.load(tiny_model)
    expected = model.encode([json.loads(l)["title"] + " " + json.loads(l)["text"]
                             for l in (root / "corpus.jsonl").read_text().splitlines()], precision="fp32")
    np.testing.assert_allclose(index.reconstruct_n(0, 8), expected, atol=1e-6)


def test_faiss_searcher_with_ckd_query_encoder_equals_brute_force(tiny_dense, tiny_model):
    from pyserini.search.faiss import FaissSearcher

    from pyserini_ckd.dense.pyserini_encoders import CkdQueryEncoder

    _, out = tiny_dense
    searcher = FaissSearcher(str(out), CkdQueryEncoder(str(tiny_model)))
    hits = searcher.search("vitamin D and fractures", k=8)
    index = faiss.read_index(str(out / "index"))
    q = DenseEncoder.load(tiny_model).encode(["vitamin D and fractures"], kind="query")[0]
    brute = index.reconstruct_n(0, 8) @ q
    docids = (out / "docid").read_text().split()
    by_doc = dict(zip(docids, brute))
    assert sorted(h.docid for h in hits) == sorted(docids)
    np.testing.assert_allclose([h.score for h in hits], [by_doc[h.docid] for h in hits], atol=1e-5)
    np.testing.assert_allclose([h.score for h in hits], np.sort(brute)[::-1], atol=1e-5)
    batch = searcher.batch_search(["vitamin D and fractures", "coffee"], ["a", "b"], k=3)
    assert [h.docid for h in batch["a"]] == [h.docid for h in hits[:3]]


def test_pyserini_hybrid_searcher_works(tiny_dense, tiny_model, tiny_bm25_index):
    from pyserini.search.faiss import FaissSearcher
    from pyserini.search.hybrid import HybridSearcher
    from pyserini.search.lucene import LuceneSearcher

    from pyserini_ckd.dense.pyserini_encoders import CkdQueryEncoder

    _, out = tiny_dense
    hybrid = HybridSearcher(FaissSearcher(str(out), CkdQueryEncoder(str(tiny_model))), LuceneSearcher(str(tiny_bm25_index)))
    hits = hybrid.search("aspirin heart attack", k0=8, k=3, alpha=1.0)
    assert hits[0].docid == "d1" and len(hits) == 3


def test_search_cli_dense_and_hybrid(tiny_dense, tiny_bm25_index, tmp_path):
    root, out = tiny_dense
    dense_run = tmp_path / "dense.trec"
    search_cli.main(["--dataset", str(root), "--dense", str(out), "--output", str(dense_run), "--hits", "5"])
    run = read_run(dense_run)
    assert list(run) == ["q3", "q5"] and all(len(h) == 5 for h in run.values())
    hybrid_run = tmp_path / "hybrid.trec"
    search_cli.main(["--dataset", str(root), "--bm25", str(tiny_bm25_index), "--dense", str(out),
                     "--fusion", "linear", "--normalization", "--tune-on", "train", "--output", str(hybrid_run)])
    fusion = json.loads((tmp_path / "hybrid.trec.fusion.json").read_text())
    assert fusion["tuning"]["split"] == "train" and fusion["tuning"]["queries"] == 3
    assert fusion["fusion"]["alpha"] in [row["alpha"] for row in fusion["tuning"]["grid"]]
    assert read_run(hybrid_run)["q3"][0].docid in {"d3", "d8"}
    rrf_run = tmp_path / "rrf.trec"
    search_cli.main(["--dataset", str(root), "--bm25", str(tiny_bm25_index), "--dense", str(out),
                     "--fusion", "rrf", "--output", str(rrf_run)])
    assert "hybrid-rrf" in rrf_run.read_text().splitlines()[0]


def test_tuning_on_test_is_refused(tiny_dense, tiny_bm25_index, tmp_path, capsys):
    root, out = tiny_dense
    line = run_cli_expect_error(search_cli.main, ["--dataset", str(root), "--bm25", str(tiny_bm25_index), "--dense", str(out),
                                                  "--tune-on", "test", "--output", str(tmp_path / "r.trec")], capsys)
    assert "tuning on a test" in line
    line = run_cli_expect_error(search_cli.main, ["--dataset", str(root), "--bm25", str(tiny_bm25_index), "--dense", str(out),
                                                  "--tune-on", "train", "--tune-significance", "5",
                                                  "--output", str(tmp_path / "r.trec")], capsys)
    assert "--tune-significance must be between 0 and 1" in line and not (tmp_path / "r.trec").exists()


def test_tuning_with_a_significance_gate_keeps_alpha_on_three_queries(tiny_dense, tiny_bm25_index, tmp_path):
    root, out = tiny_dense
    run = tmp_path / "gated.trec"
    search_cli.main(["--dataset", str(root), "--bm25", str(tiny_bm25_index), "--dense", str(out), "--fusion", "linear",
                     "--normalization", "--alpha", "0.3", "--tune-on", "train", "--tune-significance", "1e-9", "--output", str(run)])
    assert json.loads((tmp_path / "gated.trec.fusion.json").read_text())["fusion"]["alpha"] == 0.3


def test_mismatches_caught_before_search(tiny_dense, tiny_bm25_index, tmp_path, capsys):
    root, out = tiny_dense
    other = make_tiny_model(tmp_path / "other-model", seed=1)
    wide = make_tiny_model(tmp_path / "wide-model", hidden=48)
    cls = make_tiny_model(tmp_path / "cls-model", pooling="cls")
    base = ["--dataset", str(root), "--output", str(tmp_path / "r.trec")]
    line = run_cli_expect_error(search_cli.main, base + ["--dense", str(out), "--encoder", str(wide)], capsys)
    assert "index has dimension 32" in line and "gives 48" in line
    line = run_cli_expect_error(search_cli.main, base + ["--dense", str(out), "--encoder", str(cls)], capsys)
    assert "pooling=mean" in line and "pooling=cls" in line
    line = run_cli_expect_error(search_cli.main, base + ["--dense", str(out), "--encoder", str(other)], capsys)
    assert "index encoded with model" in line
    line = run_cli_expect_error(search_cli.main, base + ["--dense", str(tiny_bm25_index)], capsys)
    assert "is a Lucene (BM25) index, not a dense one: use --bm25" in line
    (tmp_path / "broken-model").mkdir()
    line = run_cli_expect_error(search_cli.main, base + ["--dense", str(out), "--encoder", str(tmp_path / "broken-model")], capsys)
    assert "model directory without its config.json" in line
    assert not (tmp_path / "r.trec").exists()


def test_shards_merge_into_the_unsharded_index(tiny_dense, tiny_model, tmp_path):
    root, out = tiny_dense
    shards = []
    for i in range(3):
        shard = tmp_path / f"shard{i}"
        encode_cli.main(["input", "--corpus", str(root / "corpus.jsonl"), "--shard-id", str(i), "--shard-num", "3",
                         "output", "--embeddings", str(shard), "encoder", "--encoder", str(tiny_model), "--fp32"])
        shards.append(shard)
    assert [read_meta(s).passages for s in shards] == [2, 2, 4]
    merged = tmp_path / "merged"
    encode_cli.main(["merge", "--shards", *map(str, reversed(shards)), "--embeddings", str(merged)])
    assert (merged / "docid").read_text() == (out / "docid").read_text()
    a, b = faiss.read_index(str(merged / "index")), faiss.read_index(str(out / "index"))
    np.testing.assert_allclose(a.reconstruct_n(0, 8), b.reconstruct_n(0, 8), atol=1e-6)
    assert read_meta(merged).shard_num == 1


@pytest.mark.parametrize("argv, message", [
    (["encoder", "--batch-size", "0"], "must be a positive integer"),
    (["encoder", "--max-length", "-1"], "must be a positive integer"),
    (["input", "--shard-id", "3", "--shard-num", "2"], "shard-id must be in 0..1"),
    (["input", "--fields", "body"], "fields must be among title, text"),
])
def test_encode_bad_settings(tiny_dense, tiny_model, tmp_path, capsys, argv, message):
    root, _ = tiny_dense
    sections = {"input": ["input", "--corpus", str(root)], "output": ["output", "--embeddings", str(tmp_path / "e")],
                "encoder": ["encoder", "--encoder", str(tiny_model)]}
    sections[argv[0]] = sections[argv[0]] + argv[1:]
    with pytest.raises(SystemExit) as info:
        encode_cli.main(sum(sections.values(), []))
    assert info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


def test_encode_bad_corpus_leaves_nothing(tiny_model, tmp_path, capsys):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_bytes(b'{"_id": "a", "text": "x"}\n{"_id": "b", "text": "\xff"}\n')
    line = run_cli_expect_error(encode_cli.main, ["input", "--corpus", str(corpus), "output", "--embeddings",
                                                  str(tmp_path / "e"), "encoder", "--encoder", str(tiny_model)], capsys)
    assert f"{corpus}:2: not valid UTF-8" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.jsonl"]


def test_search_backends_agree_and_fall_back_in_order(tiny_dense, tiny_model, monkeypatch):
    """Pyserini's FaissSearcher first; where it cannot run (no Pyserini or Faiss), exact torch search gives the
    same documents and scores; where none can run, one line says why for each."""
    from pyserini_ckd.data.records import Query
    from pyserini_ckd.dense import search as dense_search
    from pyserini_ckd.errors import CkdError

    root, out = tiny_dense
    queries = {"a": Query("a", "vitamin D and fractures"), "b": Query("b", "coffee and the heart")}
    config = dense_search.DenseSearchConfig(hits=5)
    first = dense_search.open_backend(out, str(tiny_model), config)
    assert first.name == "pyserini-faiss"

    def missing(*args):
        raise dense_search.BackendUnavailable("no pyserini here")

    monkeypatch.setitem(dense_search.BACKENDS, "pyserini-faiss", missing)
    second = dense_search.open_backend(out, str(tiny_model), config)
    assert second.name == "exact-torch"
    a, b = first.search(queries), second.search(queries)
    for q in queries:
        assert [h.docid for h in a[q]] == [h.docid for h in b[q]]
        np.testing.assert_allclose([h.score for h in a[q]], [h.score for h in b[q]], atol=1e-5)
    monkeypatch.setitem(dense_search.BACKENDS, "exact-torch", missing)
    with pytest.raises(CkdError, match="pyserini-faiss: no pyserini here; exact-torch: no pyserini here"):
        dense_search.open_backend(out, str(tiny_model), config)
