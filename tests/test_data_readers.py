"""Readers accept every harmless variant and reject bad input with one line naming the file and line."""

import json
import logging

import pytest

from pyserini_ckd.data import read_corpus, read_qrels, read_queries
from pyserini_ckd.data.datasets import Dataset, load_qrels_spec, resolve_dataset
from pyserini_ckd.errors import CkdError, InputError


def write(path, text, mode="w"):
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_beir_and_pyserini_corpora(tmp_path):
    beir = write(tmp_path / "c.jsonl", '{"_id": "a", "title": "T", "text": "x y"}\n{"_id": "b", "text": "z"}\n')
    docs = read_corpus(beir)
    assert [d.contents for d in docs.values()] == ["T x y", "z"]
    pys = write(tmp_path / "p.jsonl", '{"id": "a", "contents": "hello"}\n')
    assert read_corpus(pys)["a"].contents == "hello"


def test_crlf_and_bom_just_work(tmp_path):
    path = write(tmp_path / "c.jsonl", b'\xef\xbb\xbf{"_id": "a", "text": "x"}\r\n{"_id": "b", "text": "y"}\r\n')
    assert list(read_corpus(path)) == ["a", "b"]
    q = write(tmp_path / "q.tsv", b"\xef\xbb\xbf1\thello world\r\n2\tbye\r\n")
    assert read_queries(q)["1"].text == "hello world"
    qrels = write(tmp_path / "qrels.tsv", b"query-id\tcorpus-id\tscore\r\n1\ta\t1\r\n")
    assert read_qrels(qrels) == {"1": {"a": 1}}


def test_empty_documents_are_kept_and_counted(tmp_path, caplog):
    path = write(tmp_path / "c.jsonl", '{"_id": "a", "title": "", "text": ""}\n{"_id": "b", "text": "y"}\n')
    with caplog.at_level(logging.WARNING):
        docs = read_corpus(path)
    assert list(docs) == ["a", "b"]
    assert "1 document(s) with empty text" in caplog.text


@pytest.mark.parametrize("content, line, message", [
    ('{"_id": "a", "text": "x"}\n{"_id": "b", "text": \n', 2, "malformed JSON"),
    ('{"title": "t", "text": "x"}\n', 1, "missing field '_id'"),
    ('{"_id": "a", "title": "t"}\n', 1, "missing field 'text'"),
    ('{"id": "a"}\n', 1, "missing field 'contents'"),
    ('{"foo": 1}\n', 1, "missing fields"),
    ('{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n', 2, "duplicate document id 'a' (first on line 1)"),
    (b'{"_id": "a", "text": "x"}\n{"_id": "b", "text": "\xff\xfe"}\n', 2, "not valid UTF-8"),
    ('[1, 2]\n', 1, "expected a JSON object"),
])
def test_bad_corpus_lines(tmp_path, content, line, message):
    path = write(tmp_path / "corpus.jsonl", content)
    with pytest.raises(InputError) as info:
        read_corpus(path)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert message in str(info.value)


def test_empty_corpus(tmp_path):
    path = write(tmp_path / "corpus.jsonl", "\n\n")
    with pytest.raises(InputError, match="empty corpus"):
        read_corpus(path)


@pytest.mark.parametrize("content, line, message", [
    ('{"_id": "1", "text": "  "}\n', 1, "query '1' has empty text"),
    ('{"_id": "1", "text": "a"}\n{"_id": "2"}\n', 2, "missing field 'text'"),
    ("1\thello\n2\n", 2, "expected 'qid<TAB>text'"),
    ("1\thello\n2\t\n", 2, "empty text"),
    ('{"_id": "1", "text": "a"}\n{"_id": "1", "text": "b"}\n', 2, "duplicate query id"),
])
def test_bad_queries(tmp_path, content, line, message):
    path = write(tmp_path / "queries.jsonl", content)
    with pytest.raises(InputError) as info:
        read_queries(path)
    assert info.value.line == line and message in str(info.value)


def test_trec_qrels_and_checks(tmp_path):
    path = write(tmp_path / "qrels.txt", "1 0 a 2\n1 0 b 0\n2 0 a 1\n")
    assert read_qrels(path) == {"1": {"a": 2, "b": 0}, "2": {"a": 1}}
    with pytest.raises(InputError, match=r"qrels.txt:1: unknown query id '1'"):
        read_qrels(path, known_queries={"2"})
    with pytest.raises(InputError, match=r"qrels.txt:2: unknown document id 'b'"):
        read_qrels(path, known_docs={"a"})
    bad = write(tmp_path / "bad.tsv", "query-id\tcorpus-id\tscore\n1\ta\t1\n2\tb\n")
    with pytest.raises(InputError, match=r"bad.tsv:3: expected 3 columns, found 2"):
        read_qrels(bad)
    five = write(tmp_path / "five.tsv", "1 0 a 1 extra\n")
    with pytest.raises(InputError, match=r"five.tsv:1: expected 3 columns \(BEIR\) or 4 \(TREC\), found 5"):
        read_qrels(five)


def test_dataset_by_name_and_qrels_spec(tiny_dataset, monkeypatch):
    monkeypatch.setenv("PYSERINI_CKD_DATA", str(tiny_dataset.parent))
    ds = resolve_dataset("tiny")
    assert ds.splits == ["test", "train"]
    assert list(ds.split_queries("test")) == ["q3", "q5"]
    assert load_qrels_spec("tiny:test") == {"q3": {"d3": 1, "d8": 1}, "q5": {"d5": 1}}
    assert load_qrels_spec(str(tiny_dataset / "qrels" / "train.tsv"))["q2"] == {"d7": 1, "d4": 1}
    with pytest.raises(CkdError, match="no split 'dev'"):
        ds.qrels("dev")
    with pytest.raises(CkdError, match="dataset 'nope' not found"):
        resolve_dataset("nope")


def test_dataset_qrels_naming_unknown_document(tiny_dataset):
    with open(tiny_dataset / "qrels" / "test.tsv", "a") as f:
        f.write("q3\tnot-a-doc\t1\n")
    with pytest.raises(InputError, match=r"test.tsv:5: unknown document id 'not-a-doc'"):
        Dataset(tiny_dataset).qrels("test")
