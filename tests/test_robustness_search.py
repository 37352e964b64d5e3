"""Robustness of ``python -m pyserini_ckd.search``: bad topics, counts, indexes and encoders; concurrency."""

import subprocess
import sys

import pytest

from pyserini_ckd import encode as encode_cli
from pyserini_ckd import search as cli

from conftest import assert_clean_failure, make_tiny_model, not_writable


@pytest.fixture(scope="module")
def dense_index(tmp_path_factory, tiny_model):
    from conftest import write_dataset

    root = write_dataset(tmp_path_factory.mktemp("rs") / "tiny")
    out = root.parent / "dense"
    encode_cli.main(["input", "--corpus", str(root), "output", "--embeddings", str(out), "encoder", "--encoder", str(tiny_model), "--fp32"])
    return root, out


@pytest.mark.parametrize("content, expected", [
    ("1\tfine\n2\t  \n", "topics.tsv:2: query '2' has empty text"),
    ("1\tfine\n2\n", "topics.tsv:2: expected 'qid<TAB>text'"),
    (b"1\t\xff\xfe\n", "topics.tsv:1: not valid UTF-8"),
])
def test_bad_topics(tiny_bm25_index, tmp_path, capsys, content, expected):
    topics = tmp_path / "topics.tsv"
    topics.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "run.trec"
    assert_clean_failure(cli.main, ["--topics", topics, "--bm25", tiny_bm25_index, "--output", out], capsys, expected, [out])


@pytest.mark.parametrize("flag, value", [("--hits", "0"), ("--hits", "-1"), ("--threads", "0"), ("--query-batch-size", "0")])
def test_bad_counts(tiny_dataset, tiny_bm25_index, tmp_path, capsys, flag, value):
    out = tmp_path / "run.trec"
    assert_clean_failure(cli.main, ["--dataset", tiny_dataset, "--bm25", tiny_bm25_index, "--output", out, flag, value],
                         capsys, "must be a positive integer", [out])


def test_index_and_encoder_mismatches(dense_index, tiny_bm25_index, tmp_path, capsys):
    root, dense = dense_index
    out = tmp_path / "run.trec"
    base = ["--dataset", root, "--output", out]
    wide = make_tiny_model(tmp_path / "wide", hidden=48)
    other = make_tiny_model(tmp_path / "other", seed=7)
    (tmp_path / "no-config").mkdir()
    for argv, expected in [
        (["--dense", dense, "--encoder", wide], "index has dimension 32"),
        (["--dense", dense, "--encoder", other], "index encoded with model"),
        (["--dense", dense, "--encoder", tmp_path / "no-config"], "model directory without its config.json"),
        (["--dense", tiny_bm25_index], "is a Lucene (BM25) index, not a dense one"),
        (["--bm25", dense], "not a Lucene index (it holds a Faiss index: use --dense)"),
    ]:
        assert_clean_failure(cli.main, base + argv, capsys, expected, [out])


def test_unwritable_output(tiny_dataset, tiny_bm25_index, tmp_path, capsys):
    out = not_writable(tmp_path)
    assert_clean_failure(cli.main, ["--dataset", tiny_dataset, "--bm25", tiny_bm25_index, "--output", out], capsys,
                         "cannot create folder", [out])


def test_two_searches_at_once_equal_one_after_the_other(dense_index, tiny_bm25_index, tmp_path):
    root, dense = dense_index

    def argv(out):
        return ["--dataset", str(root), "--bm25", str(tiny_bm25_index), "--dense", str(dense), "--fusion", "rrf",
                "--output", str(out)]

    alone = tmp_path / "alone.trec"
    cli.main(argv(alone))  # the reference, in this process (two more interpreters would only add start-up time)
    par = [tmp_path / "c.trec", tmp_path / "d.trec"]
    procs = [subprocess.Popen([sys.executable, "-m", "pyserini_ckd.search", *argv(out)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for out in par]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    texts = {p.read_text() for p in [alone] + par}
    assert len(texts) == 1 and alone.read_text()


def test_unreadable_indexes(dense_index, tiny_dataset, tiny_bm25_index, tmp_path, capsys):
    """A truncated Faiss file or a damaged Lucene index: one line naming it, exit 2, no run written."""
    import shutil

    _, dense = dense_index
    broken = tmp_path / "dense"
    shutil.copytree(dense, broken)
    data = (broken / "index").read_bytes()
    (broken / "index").write_bytes(data[:len(data) // 3])
    out = tmp_path / "run.trec"
    assert_clean_failure(cli.main, ["--dataset", tiny_dataset, "--dense", broken, "--output", out], capsys,
                         f"{broken / 'index'}: unreadable Faiss index", [out])
    lucene = tmp_path / "bm25"
    shutil.copytree(tiny_bm25_index, lucene)
    for segment in [p for p in lucene.iterdir() if p.suffix in (".cfs", ".si", ".cfe")]:
        segment.write_bytes(b"damaged")
    assert_clean_failure(cli.main, ["--dataset", tiny_dataset, "--bm25", lucene, "--output", out], capsys,
                         f"{lucene}: unreadable Lucene index", [out])
