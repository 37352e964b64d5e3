"""BM25 through Pyserini's Lucene: index, search, negatives, on a tiny corpus written in the test."""

import json

import pytest

from pyserini_ckd import index as index_cli
from pyserini_ckd import negatives as negatives_cli
from pyserini_ckd import search as search_cli
from pyserini_ckd.data.datasets import Dataset
from pyserini_ckd.data.runs import read_run
from pyserini_ckd.lucene.negatives import read_negatives
from pyserini_ckd.lucene.search import BM25Config, bm25_search

from conftest import run_cli_expect_error


def test_index_cli_builds_searchable_index(tiny_dataset, tmp_path):
    out = tmp_path / "idx"
    assert index_cli.main(["--dataset", str(tiny_dataset), "--index", str(out)]) == 0
    from pyserini.search.lucene import LuceneSearcher

    searcher = LuceneSearcher(str(out))
    assert searcher.num_docs == 8
    raw = json.loads(searcher.doc("d1").raw())
    assert raw["contents"] == "Aspirin and the heart Aspirin lowers the risk of heart attack in adults."
    assert searcher.search("aspirin heart attack", k=1)[0].docid == "d1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx", "tiny"]  # no temporaries left


def test_search_cli_writes_trec_run(tiny_dataset, tiny_bm25_index, tmp_path):
    out = tmp_path / "runs" / "bm25.trec"
    search_cli.main(["--dataset", str(tiny_dataset), "--split", "test", "--bm25", str(tiny_bm25_index),
                     "--output", str(out), "--hits", "3"])
    run = read_run(out)
    assert list(run) == ["q3", "q5"]
    assert all(len(h) <= 3 for h in run.values())
    assert {run["q3"][0].docid, run["q3"][1].docid} == {"d3", "d8"}
    assert run["q5"][0].docid == "d5"
    line = out.read_text().splitlines()[0].split()
    assert line[1] == "Q0" and line[3] == "1" and line[5] == "bm25"


def test_search_topics_file_and_bm25_parameters(tiny_bm25_index, tmp_path):
    topics = tmp_path / "topics.tsv"
    topics.write_text("x\tblood pressure\n")
    out = tmp_path / "run.trec"
    search_cli.main(["--topics", str(topics), "--bm25", str(tiny_bm25_index), "--output", str(out)])
    default = read_run(out)["x"]
    assert {h.docid for h in default[:3]} == {"d4", "d6", "d7"}
    other = bm25_search(tiny_bm25_index, {"x": __import__("pyserini_ckd").data.Query("x", "blood pressure")},
                        BM25Config(k1=1.2, b=0.75))["x"]
    assert [h.score for h in other] != [h.score for h in default]


def test_negatives_exclude_positives(tiny_dataset, tiny_bm25_index, tmp_path):
    out = tmp_path / "neg.jsonl"
    negatives_cli.main(["--dataset", str(tiny_dataset), "--split", "train", "--bm25", str(tiny_bm25_index),
                        "--output", str(out), "--depth", "5"])
    entries = read_negatives(out, known_docs=Dataset(tiny_dataset).corpus)
    assert list(entries) == ["q1", "q2", "q4"]
    q2 = entries["q2"]
    assert set(q2.positives) == {"d7", "d4"}
    assert not {n.docid for n in q2.negatives} & set(q2.positives)
    ranks = [n.rank for n in q2.negatives]
    assert ranks == sorted(ranks) and max(ranks) <= 5


def test_failed_index_build_leaves_nothing(tmp_path, capsys):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"_id": "a", "text": "x"}\n' * 1 + '{"_id": "b", "text": "y"}\n{"_id": "a", "text": "z"}\n')
    out = tmp_path / "out" / "idx"
    line = run_cli_expect_error(index_cli.main, ["--corpus", str(corpus), "--index", str(out)], capsys)
    assert f"{corpus}:3: duplicate document id 'a'" in line
    assert not out.exists() and list((tmp_path / "out").iterdir()) == []


def test_dense_index_given_as_bm25(tiny_dataset, tmp_path, capsys):
    fake = tmp_path / "faiss"
    fake.mkdir()
    (fake / "index").write_bytes(b"\0")
    line = run_cli_expect_error(search_cli.main, ["--dataset", str(tiny_dataset), "--bm25", str(fake),
                                                  "--output", str(tmp_path / "r.trec")], capsys)
    assert "not a Lucene index (it holds a Faiss index: use --dense)" in line
    assert not (tmp_path / "r.trec").exists()


@pytest.mark.parametrize("flag", [["--hits", "0"], ["--hits", "-5"], ["--threads", "0"]])
def test_bad_counts_rejected(tiny_dataset, tiny_bm25_index, tmp_path, capsys, flag):
    run_cli_expect_error(search_cli.main, ["--dataset", str(tiny_dataset), "--bm25", str(tiny_bm25_index),
                                           "--output", str(tmp_path / "r.trec")] + flag, capsys)
    assert not (tmp_path / "r.trec").exists()


def test_a_document_with_no_text_is_not_an_incomplete_index(tmp_path):
    """Anserini skips a document without text (cranfield has two): the build succeeds and says so."""
    from conftest import DOCS, write_dataset
    from pyserini_ckd.data.corpus import iter_corpus
    from pyserini_ckd.lucene.index import IndexConfig, build_bm25_index

    data = write_dataset(tmp_path / "d", docs=list(DOCS) + [("empty", "", "")])
    assert build_bm25_index(iter_corpus(data / "corpus.jsonl"), IndexConfig(index=tmp_path / "ix")) == len(DOCS)
    from pyserini_ckd.data.records import Query

    run = bm25_search(tmp_path / "ix", {"q": Query("q", "aspirin")}, BM25Config(hits=5))
    assert run["q"] and all(h.docid != "empty" for h in run["q"])
