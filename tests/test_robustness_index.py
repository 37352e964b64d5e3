"""Robustness of ``python -m pyserini_ckd.index``: bad corpora and outputs fail cleanly."""

import pytest

from pyserini_ckd import index as cli

from conftest import assert_clean_failure, not_writable

CASES = [
    ("malformed JSON", b'{"_id": "a", "text": "x"}\n{"_id": "b", "text": "y"\n', "corpus.jsonl:2: malformed JSON"),
    ("missing id", b'{"title": "t", "text": "x"}\n', "corpus.jsonl:1: missing field '_id'"),
    ("missing text", b'{"_id": "a", "title": "t"}\n', "corpus.jsonl:1: missing field 'text'"),
    ("duplicate id", b'{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n', "corpus.jsonl:2: duplicate document id 'a'"),
    ("not UTF-8", b'{"_id": "a", "text": "caf\xe9"}\n', "corpus.jsonl:1: not valid UTF-8"),
    ("empty corpus", b"\n", "corpus.jsonl: empty corpus"),
]


@pytest.mark.parametrize("name, content, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_corpus(tmp_path, capsys, name, content, expected):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_bytes(content)
    assert_clean_failure(cli.main, ["--corpus", corpus, "--index", tmp_path / "idx"], capsys, expected, [tmp_path / "idx"])


def test_bad_settings_and_outputs(tiny_dataset, tmp_path, capsys):
    assert_clean_failure(cli.main, ["--dataset", tiny_dataset, "--index", tmp_path / "idx", "--threads", "0"], capsys,
                         "must be a positive integer", [tmp_path / "idx"])
    out = not_writable(tmp_path)
    assert_clean_failure(cli.main, ["--dataset", tiny_dataset, "--index", out], capsys, "cannot create folder", [out])
    assert_clean_failure(cli.main, ["--dataset", tmp_path / "nope", "--index", tmp_path / "idx"], capsys,
                         "dataset", [tmp_path / "idx"])
