"""Robustness of ``python -m pyserini_ckd.evaluate``: bad runs, qrels and measures; unwritable JSON output."""

import pytest

from pyserini_ckd import evaluate as cli

from conftest import assert_clean_failure, not_writable

QRELS = "q1 0 d1 1\nq2 0 d2 1\n"
RUN = "q1 Q0 d1 1 2.0 t\nq2 Q0 d2 1 1.0 t\n"


@pytest.mark.parametrize("qrels, run, expected", [
    (QRELS, "q1 Q0 d1 1 2.0 t\nq1 Q0 d2 x 1.0 t\n", "run.trec:2: rank 'x' or score '1.0' is not a number"),
    (QRELS, "q1 Q0 d1 1 2.0\n", "run.trec:1: expected 6 columns"),
    (QRELS, "", "run.trec: empty run"),
    ("q1 0 d1 1\nq2 0 d2\n", RUN, "qrels.txt:2: expected 4 columns, found 3"),
    ("q1 d1 one\n", RUN, "qrels.txt:1: relevance 'one' is not a number"),
])
def test_bad_files(tmp_path, capsys, qrels, run, expected):
    (tmp_path / "qrels.txt").write_text(qrels)
    (tmp_path / "run.trec").write_text(run)
    out = tmp_path / "e.json"
    assert_clean_failure(cli.main, ["--qrels", tmp_path / "qrels.txt", tmp_path / "run.trec", "--json", out], capsys, expected, [out])


def test_bad_measure_and_missing_qrels(tmp_path, capsys):
    (tmp_path / "qrels.txt").write_text(QRELS)
    (tmp_path / "run.trec").write_text(RUN)
    assert_clean_failure(cli.main, ["--qrels", tmp_path / "qrels.txt", tmp_path / "run.trec", "--measures", "nDCG@"], capsys, "unknown measure")
    assert_clean_failure(cli.main, ["--qrels", tmp_path / "none.txt", tmp_path / "run.trec"], capsys, "no such qrels file")
    out = not_writable(tmp_path)
    assert_clean_failure(cli.main, ["--qrels", tmp_path / "qrels.txt", tmp_path / "run.trec", "--json", out], capsys,
                         "cannot create folder", [out])
