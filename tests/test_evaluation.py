"""Evaluation: ir-measures agrees with Pyserini's trec_eval -c; missing queries count 0; t-tests."""

import json
import subprocess
import sys

import pytest

from pyserini_ckd import evaluate as evaluate_cli
from pyserini_ckd.data.records import ScoredDoc
from pyserini_ckd.metrics import evaluate_run, evaluate_runs, paired_t_test

from conftest import run_cli_expect_error

QRELS = "q1 0 d1 1\nq1 0 d2 2\nq1 0 d9 0\nq2 0 d3 1\nq3 0 d4 1\nq3 0 d5 1\n"
RUN = ("q1 Q0 d9 1 9.5 a\nq1 Q0 d2 2 8.25 a\nq1 Q0 d7 3 7.0 a\nq1 Q0 d1 4 6.0 a\n"
       "q2 Q0 d8 1 3.0 a\nq2 Q0 d6 2 2.0 a\nq2 Q0 d3 3 1.0 a\n")  # q3 is missing from the run


def _trec_eval_ndcg10(qrels, run):
    out = subprocess.run([sys.executable, "-m", "pyserini_ckd.pyserini_run", "pyserini.eval.trec_eval", "-c",
                          "-m", "ndcg_cut.10", str(qrels), str(run)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    row = [line.split() for line in out.stdout.splitlines() if line.startswith("ndcg_cut_10")]
    return float(row[-1][2])


def test_ndcg10_equals_pyserini_trec_eval(tmp_path):
    qrels, run = tmp_path / "qrels.txt", tmp_path / "run.trec"
    qrels.write_text(QRELS)
    run.write_text(RUN)
    evaluate_cli.main(["--qrels", str(qrels), str(run), "--json", str(tmp_path / "e.json")])
    ours = json.loads((tmp_path / "e.json").read_text())["runs"][0]
    assert ours["missing_queries"] == 1
    assert ours["aggregates"]["nDCG@10"] == pytest.approx(_trec_eval_ndcg10(qrels, run), abs=5e-5)
    assert ours["per_query"]["nDCG@10"]["q3"] == 0.0


def test_missing_queries_reported(tmp_path, capsys):
    qrels, run = tmp_path / "qrels.txt", tmp_path / "run.trec"
    qrels.write_text(QRELS)
    run.write_text(RUN)
    evaluate_cli.main(["--qrels", str(qrels), str(run)])
    out = capsys.readouterr().out
    assert "judged queries: 3; missing from runs (counted as 0): run.trec 1" in out


def test_t_test_against_first_run():
    qrels = {str(i): {"rel": 1} for i in range(20)}
    good = {q: [ScoredDoc("rel", 2.0), ScoredDoc("x", 1.0)] for q in qrels}
    bad = {q: [ScoredDoc("x", 2.0)] + ([ScoredDoc("rel", 1.0)] if int(q) % 4 else []) for q in qrels}
    results = evaluate_runs({"good": good, "bad": bad, "same": good}, qrels)
    assert results[0].p_values == {}
    assert results[1].p_values["nDCG@10"] < 0.001
    assert results[2].p_values["nDCG@10"] == 1.0
    assert paired_t_test({"a": 1.0, "b": 0.0, "c": 0.5}, {"a": 0.9, "b": 0.1, "c": 0.5}) == pytest.approx(1.0)


def test_unknown_measure_and_bad_run(tmp_path, capsys):
    qrels, run = tmp_path / "qrels.txt", tmp_path / "run.trec"
    qrels.write_text(QRELS)
    run.write_text(RUN)
    line = run_cli_expect_error(evaluate_cli.main, ["--qrels", str(qrels), str(run), "--measures", "nDCG@@"], capsys)
    assert "unknown measure 'nDCG@@'" in line
    run.write_text("q1 Q0 d1 1 1.0\n")
    line = run_cli_expect_error(evaluate_cli.main, ["--qrels", str(qrels), str(run)], capsys)
    assert f"{run}:1: expected 6 columns" in line


def test_evaluate_run_graded():
    qrels = {"q": {"a": 2, "b": 1}}
    res = evaluate_run({"q": [ScoredDoc("a", 2.0), ScoredDoc("b", 1.0)]}, qrels, ["nDCG@10", "RR@10"])
    assert res.aggregates == {"nDCG@10": pytest.approx(1.0), "RR@10": 1.0}
