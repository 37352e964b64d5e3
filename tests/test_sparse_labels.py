"""benchmarks/sparse_labels.py end to end on a tiny collection judged in depth: folds, a pipeline per fold,
label recovery and students, written in the issue's format."""

import importlib.util
import json
from pathlib import Path

from conftest import write_dataset
from test_label_audit import DEEP
from test_pipeline import TINY


def _script():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "sparse_labels.py"
    spec = importlib.util.spec_from_file_location("sparse_labels", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sparse_labels_protocol_writes_recovery_and_students(tmp_path, tiny_model):
    data = write_dataset(tmp_path / "deep", qrels=DEEP)
    config = tmp_path / "tiny.json"
    # a handful of training queries per fold: no model selection or dev temperature (their dev slices would be empty)
    settings = {**TINY, "base_model": str(tiny_model), "seeds": [1], "warm_start": None,
                "teacher": {**TINY["teacher"], "select_every": None}, "cross_encoder": {**TINY["cross_encoder"], "select_every": None},
                "students": {**TINY["students"], "select_every": None, "temperature": 0.25}}
    settings["labels"] = {**TINY["labels"], "pool": True}
    config.write_text(json.dumps(settings))
    w = tmp_path / "w"
    summary = _script().main(["--dataset", str(data), "--workdir", str(w), "--folds", "2", "--profile", "compare-cpu",
                              "--config", str(config)])
    assert json.loads((w / "sparse_labels.json").read_text()) == summary
    assert summary["folds"] == 2 and summary["run_folds"] == [0, 1] and summary["dataset"] == "deep"
    labelers = summary["labelers"]
    assert set(labelers) == {"hard", "uniform", "teacher", "collective", "cross-encoder"}
    assert labelers["hard"]["hidden_mass"] == 0.0 and labelers["hard"]["hidden_recall@10"] is None  # hard labels do not rank
    assert labelers["teacher"]["hidden_recall@100"] is not None
    for name, e in labelers.items():
        assert 0.0 <= e["hidden_mass"] <= 1.0 and 0.0 <= e["student_nDCG@10"] <= 1.0
        assert (e["p_vs_hard"] is None) == (name == "hard") and e["p_vs_zeroshot"] is not None
    # the references on the same held-out queries: the students' start and BM25
    assert set(summary["references"]) == {"zeroshot", "bm25"} and summary["test_queries"] > 0
    assert all(0.0 <= r["nDCG@10"] <= 1.0 for r in summary["references"].values())
    # every labeler scored the same pool, so the false negatives in it are the same count
    assert len({e["false_negatives_in_pool"] for e in labelers.values()}) == 1
    assert "p_hidden_mass_collective_vs_teacher" in summary and "| collective |" in (w / "sparse_labels.md").read_text()
    assert "| zero-shot MiniLM (the students' start) |" in (w / "sparse_labels.md").read_text()
