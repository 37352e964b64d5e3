"""Teacher scores in peers' formats (Tevatron, sentence-transformers' mine_hard_negatives, PyLate): export our
labels, import them back, and train from imported scores."""

import json

import pytest

from pyserini_ckd import label as label_cli
from pyserini_ckd import train as train_cli

from conftest import DOCS, assert_clean_failure, write_dataset

LABELS = [
    {"qid": "q1", "positives": ["d1"], "candidates": [
        {"docid": "d1", "score": 3.5, "sources": ["positive"]}, {"docid": "d6", "score": 2.25, "sources": ["bm25"]},
        {"docid": "d5", "score": -1.0, "sources": ["teacher"]}], "expansion": []},
    {"qid": "q2", "positives": ["d7", "d4"], "candidates": [
        {"docid": "d7", "score": 1.5, "sources": ["positive"]}, {"docid": "d4", "score": 0.5, "sources": ["positive"]},
        {"docid": "d6", "score": 2.0, "sources": ["bm25", "teacher"]}, {"docid": "d2", "score": 0.0, "sources": ["bm25"]}],
     "expansion": []},
]


@pytest.fixture
def setup(tmp_path):
    data = write_dataset(tmp_path / "tiny")
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in LABELS))
    return data, labels, tmp_path


def _as_scores(records):
    return {r["qid"]: (sorted(r["positives"]), {c["docid"]: c["score"] for c in r["candidates"]},
                       [c["docid"] for c in r["candidates"] if c["docid"] not in r["positives"]]) for r in records}


@pytest.mark.parametrize("fmt", ["tevatron", "sentence-transformers", "pylate"])
def test_round_trip(setup, fmt):
    data, labels, tmp = setup
    exported, back = tmp / f"{fmt}.jsonl", tmp / f"{fmt}.labels.jsonl"
    label_cli.main(["--dataset", str(data), "--export", fmt, str(labels), "--output", str(exported)])
    label_cli.main(["--dataset", str(data), "--import", fmt, str(exported), "--output", str(back)])
    records = [json.loads(line) for line in back.read_text().splitlines()]
    assert _as_scores(records) == _as_scores(LABELS)
    meta = json.loads((tmp / f"{fmt}.labels.jsonl.meta.json").read_text())
    assert meta["labeler"] == f"imported:{fmt}" and meta["queries"] == 2


def test_exported_rows_have_the_peers_shapes(setup):
    data, labels, tmp = setup
    for fmt in ("tevatron", "sentence-transformers", "pylate"):
        label_cli.main(["--dataset", str(data), "--export", fmt, str(labels), "--output", str(tmp / fmt)])
    tev = json.loads((tmp / "tevatron").read_text().splitlines()[1])
    assert tev["query_id"] == "q2" and tev["query"] == "what raises blood pressure"
    assert [(p["docid"], p["score"]) for p in tev["positive_passages"]] == [("d7", 1.5), ("d4", 0.5)]
    assert tev["negative_passages"][0] == {"docid": "d6", "title": "Exercise", "text": DOCS[5][2], "score": 2.0}
    st = [json.loads(line) for line in (tmp / "sentence-transformers").read_text().splitlines()]
    assert len(st) == 3  # one row per (query, positive), as mine_hard_negatives writes
    assert list(st[1]) == ["query", "positive", "negative_1", "negative_2", "scores"] and st[1]["scores"] == [1.5, 2.0, 0.0]
    assert st[1]["positive"] == "Salt A diet high in salt raises blood pressure."
    pylate = json.loads((tmp / "pylate").read_text().splitlines()[0])
    assert pylate == {"query_id": "q1", "document_ids": ["d1", "d6", "d5"], "scores": [3.5, 2.25, -1.0]}
    docs = [json.loads(line) for line in (tmp / "pylate.documents.jsonl").read_text().splitlines()]
    assert docs[0] == {"document_id": "d1", "text": "Aspirin and the heart " + DOCS[0][2]}


def test_imported_scores_train_a_student(setup, tiny_model):
    data, labels, tmp = setup
    exported, back = tmp / "tev.jsonl", tmp / "tev.labels.jsonl"
    label_cli.main(["--dataset", str(data), "--export", "tevatron", str(labels), "--output", str(exported)])
    label_cli.main(["--dataset", str(data), "--import", "tevatron", str(exported), "--output", str(back)])
    out = tmp / "student"
    train_cli.main(["--dataset", str(data), "--labels", str(back), "--init", str(tiny_model), "--output", str(out),
                    "--group-size", "3", "--batch-size", "2", "--steps", "1"])
    assert json.loads((out / "train_config.json").read_text())["config"]["loss"] == "kd"
    assert "| labeler | imported:tevatron |" in (out / "README.md").read_text()


def test_bad_imports_fail_cleanly(setup, capsys):
    data, labels, tmp = setup
    bad = tmp / "bad.jsonl"
    bad.write_text(json.dumps({"query_id": "q1", "document_ids": ["d1", "d9"], "scores": [1.0, 2.0]}) + "\n")
    out = tmp / "out.jsonl"
    assert_clean_failure(label_cli.main, ["--dataset", data, "--import", "pylate", bad, "--output", out], capsys,
                         "unknown document id 'd9'", [out])
    bad.write_text(json.dumps({"query_id": "q1", "positive_passages": [{"docid": "d1", "score": "nan"}],
                               "negative_passages": []}) + "\n")
    assert_clean_failure(label_cli.main, ["--dataset", data, "--import", "tevatron", bad, "--output", out], capsys,
                         f"{bad}:1: score 'nan' is not finite", [out])
    bad.write_text(json.dumps({"query": "no such query", "positive": "x", "negative_1": "y", "scores": [1, 2]}) + "\n")
    assert_clean_failure(label_cli.main, ["--dataset", data, "--import", "sentence-transformers", bad, "--output", out],
                         capsys, "is not a query of split 'train'", [out])
    assert_clean_failure(label_cli.main, ["--dataset", data, "--import", "msmarco", bad, "--output", out], capsys,
                         "unknown format 'msmarco'", [out])
    assert_clean_failure(label_cli.main, ["--dataset", data, "--output", out], capsys,
                         "--labeler and --negatives (or --pool) are required", [out])


def test_a_nan_teacher_score_stops_training(setup, tiny_model, capsys):
    data, labels, tmp = setup
    nan = tmp / "nan.jsonl"
    records = json.loads(json.dumps(LABELS))
    records[1]["candidates"][2]["score"] = float("nan")
    nan.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp / "never"
    assert_clean_failure(train_cli.main, ["--dataset", data, "--labels", nan, "--init", tiny_model, "--output", out,
                                          "--steps", "1", "--group-size", "3", "--batch-size", "2"], capsys,
                         f"{nan}:2: score nan of document 'd6' is not finite", [out])
