"""The sparse-label protocol's folds, and the label audit (targets, hidden-positive recovery) against hand sums."""

import json
import math

import pytest

from pyserini_ckd import inspect_labels as inspect_cli
from pyserini_ckd.data.datasets import resolve_dataset
from pyserini_ckd.data.qrels import read_qrels
from pyserini_ckd.data.sparse_split import sparse_folds, write_sparse_folds
from pyserini_ckd.labeling.audit import audit_row, row_targets

from conftest import write_dataset

DEEP = {"test": [("q1", "d1"), ("q1", "d6"), ("q1", "d5"), ("q2", "d7"), ("q2", "d4"), ("q3", "d3"), ("q3", "d8"),
                 ("q4", "d2"), ("q5", "d5"), ("q5", "d6")]}


def test_sparse_folds_follow_the_protocol(tmp_path):
    data = write_dataset(tmp_path / "deep", qrels=DEEP)
    full = resolve_dataset(data).qrels("test")
    paths = write_sparse_folds(resolve_dataset(data), tmp_path / "sparse", folds=3, seed=7)
    tests = []
    for f, path in paths.items():
        train, hidden, test = (read_qrels(path / "qrels" / f"{s}.tsv") for s in ("train", "train-hidden", "test"))
        train_full = read_qrels(path / "qrels" / "train-full.tsv")
        tests.append(set(test))
        assert set(train) | set(test) == set(full) and not set(train) & set(test)  # every query, once
        assert all(len(docs) == 1 for docs in train.values())  # one labelled positive per training query
        for q, docs in train.items():
            (pos,) = docs
            assert pos in full[q] and pos not in hidden.get(q, {})  # hidden positives never in the labels
            assert {**docs, **hidden.get(q, {})} == full[q] == train_full[q]
        assert test == {q: full[q] for q in test}  # test queries keep every judgment
        assert (path / "corpus.jsonl").is_symlink() and resolve_dataset(path).qrels("train")
    assert set().union(*tests) == set(full) and sum(map(len, tests)) == len(full)  # the test folds partition the queries
    again = sparse_folds(full, 3, seed=7)
    assert [f.train for f in again] == [read_qrels(p / "qrels" / "train.tsv") for p in paths.values()]  # deterministic
    other_seed = sparse_folds(full, 3, seed=8)
    assert [set(f.test) for f in other_seed] == [set(f.test) for f in again]  # the seed draws positives, not folds


RECORD = {"qid": "q1", "positives": ["d1"], "candidates": [
    {"docid": "d1", "score": 1.0, "sources": ["positive"]}, {"docid": "d6", "score": 2.0, "sources": ["teacher"]},
    {"docid": "d5", "score": 1.5, "sources": ["bm25", "teacher"]}, {"docid": "d2", "score": 0.0, "sources": ["bm25"]}]}


def test_targets_and_row_figures_by_hand():
    y = row_targets(RECORD, temperature=0.5, probabilities=False)
    # the positive is raised to the row maximum (2.0): logits 4, 4, 3, 0
    z = [math.exp(4), math.exp(4), math.exp(3), 1.0]
    assert y.tolist() == pytest.approx([v / sum(z) for v in z])
    row = audit_row(RECORD, 0.5, False, hidden={"d1": 1, "d5": 2, "d8": 1}, ranking=["d6", "d5", "d1", "d8"])
    assert row.positive_mass == pytest.approx(y[0]) and row.unlabelled_at_or_above and row.margin == pytest.approx(-1.0)
    assert row.by_source == pytest.approx({"bm25": y[3], "teacher": y[1], "bm25+teacher": y[2], "other": 0.0})
    assert (row.hidden_total, row.hidden_in_pool, row.hidden_mass) == (2, 1, pytest.approx(y[2]))
    assert row.hidden_recall == {10: 1.0, 100: 1.0}
    uniform = dict(RECORD, candidates=[dict(c, score=s) for c, s in zip(RECORD["candidates"], [0.9, 0.05, 0.05, 0.0])])
    assert row_targets(uniform, 0.5, probabilities=True).tolist() == pytest.approx([0.9, 0.05, 0.05, 0.0])


def test_stats_cli_with_hidden_qrels_and_runs(tmp_path, capsys):
    labels = {}
    for name, scores in (("teacher", [1.0, 2.0, 1.5, 0.0]), ("collective", [1.0, 1.0, 3.0, 0.0])):
        path = tmp_path / f"{name}.jsonl"
        rows = [RECORD, dict(RECORD, qid="q2", positives=["d7"], candidates=[dict(c, docid=d) for c, d in zip(RECORD["candidates"], ["d7", "d4", "d3", "d2"])])]
        path.write_text("".join(json.dumps(dict(r, candidates=[dict(c, score=s) for c, s in zip(r["candidates"], scores)])) + "\n" for r in rows))
        (tmp_path / f"{name}.jsonl.meta.json").write_text(json.dumps({"labeler": name}))
        labels[name] = path
    hidden = tmp_path / "hidden.tsv"
    hidden.write_text("query-id\tcorpus-id\tscore\nq1\td5\t1\nq2\td4\t1\nq2\td8\t1\n")
    runs = []
    for name in labels:
        run = tmp_path / f"{name}.trec"
        run.write_text("q1 Q0 d5 1 3.0 x\nq1 Q0 d1 2 2.0 x\nq2 Q0 d4 1 2.0 x\n")
        runs.append(run)
    out = tmp_path / "stats.json"
    inspect_cli.main(["--stats", "--labels", str(labels["teacher"]), str(labels["collective"]), "--temperature", "0.5",
                      "--hidden", str(hidden), "--runs", *map(str, runs), "--plain", str(labels["teacher"]), "--json", str(out)])
    printed = capsys.readouterr().out
    figures = json.loads(out.read_text())
    assert set(figures) == {"teacher", "collective"} and "| collective | 2 |" in printed
    t = figures["teacher"]
    assert t["hidden_positives_per_query"] == 1.5 and t["false_negatives_in_pool"] == 1.0
    assert t["hidden_recall@10"] == pytest.approx((1.0 + 0.5) / 2)
    # collective puts d5/d3 (hidden in q1, not in q2) at the top: more hidden mass on q1, less on q2
    assert figures["collective"]["hidden_mass"] != t["hidden_mass"] and "p_hidden_mass_vs_teacher" in figures["collective"]
    # against the plain teacher on the same candidates: scores [1, 2, 1.5, 0] -> [1, 1, 3, 0], top unlabelled d6 -> d5
    e = figures["collective"]["expansion"]
    assert e["rows"] == 2 and e["mean_score_shift"] == pytest.approx(0.125) and e["top_unlabelled_changed"] == 1.0
    assert "expansion" not in t and "target total variation" in printed


def test_expansion_effect_and_dev_temperature_by_hand():
    from pyserini_ckd.labeling.audit import expansion_effect
    from pyserini_ckd.labeling.temperature import choose_temperature, dev_nll

    plain = dict(RECORD, candidates=[dict(c, score=s) for c, s in zip(RECORD["candidates"], [1.0, 2.0, 1.5, 0.0])])
    same = expansion_effect([plain], [plain], 0.5)
    assert same == {"rows": 1, "mean_score_shift": 0.0, "target_total_variation": 0.0, "top_unlabelled_changed": 0.0}
    other = dict(RECORD, candidates=list(reversed(plain["candidates"])))
    assert expansion_effect([other], [plain], 0.5) is None  # different candidate lists are not compared
    # NLL(T) = -log softmax(t / T)[positive]; T = 1: -(1 - log(e + e^2 + e^1.5 + 1))
    z = math.log(math.e + math.e ** 2 + math.e ** 1.5 + 1)
    assert dev_nll([plain], 1.0) == pytest.approx(z - 1.0)
    choice = choose_temperature([plain], [plain], 0.0, grid=[0.25, 1.0, 100.0])
    assert [row["temperature"] for row in choice["table"]] == [0.25, 1.0, 100.0]
    assert choice["temperature"] == min(choice["table"], key=lambda r: r["dev_nll"])["temperature"]
    assert choice["uniform_nll"] == pytest.approx(math.log(4), abs=1e-5)


def test_stats_bad_input(tmp_path, capsys):
    from conftest import assert_clean_failure

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(dict(RECORD, candidates=[dict(RECORD["candidates"][0], score=float("nan"))])) + "\n")
    assert_clean_failure(inspect_cli.main, ["--stats", "--labels", bad], capsys, f"{bad}:1: score nan")
    assert_clean_failure(inspect_cli.main, ["--stats", "--labels", bad, "--runs", bad], capsys, "--runs needs --hidden")
    assert_clean_failure(inspect_cli.main, ["--labels", bad], capsys, "give --stats, or one --labels file")


def test_temperature_for_a_given_off_positive_mass():
    from pyserini_ckd.labeling.audit import temperature_for_off_positive

    t = temperature_for_off_positive([RECORD], 0.6)
    assert 1 - audit_row(RECORD, t, False).positive_mass == pytest.approx(0.6, abs=1e-4)
    # the raised positive ties with the best unlabelled candidate: below half the mass is out of reach
    assert temperature_for_off_positive([RECORD], 0.3) == 1e-3
