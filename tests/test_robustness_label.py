"""Robustness of ``python -m pyserini_ckd.label`` and ``inspect_labels``: bad inputs, settings; kill -9."""

import json

import pytest

from pyserini_ckd import inspect_labels as inspect_cli
from pyserini_ckd import label as cli

from conftest import assert_clean_failure, make_tiny_teacher, not_writable, write_dataset, write_negatives
from test_robustness_encode import kill_mid_run, slowed


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("rl")
    return write_dataset(root / "d"), write_negatives(root / "neg.jsonl"), make_tiny_teacher(root / "li")


def test_bad_inputs(setup, tmp_path, capsys):
    data, neg, li = setup
    out = tmp_path / "labels.jsonl"
    base = ["--dataset", data, "--negatives", neg, "--output", out]
    cases = [
        (["--labeler", "collective"], "needs --teacher"),
        (["--labeler", "collective", "--teacher", tmp_path / "nope"], "no such model directory"),
        (["--labeler", "cross-encoder", "--teacher", li], "is not a cross-encoder"),
        (["--labeler", "hard", "--teacher-depth", "0"], "must be a positive integer"),
        (["--labeler", "collective", "--teacher", li, "--fb-docs", "0"], "must be a positive integer"),
        (["--labeler", "uniform", "--epsilon", "1.5"], "epsilon must be in [0, 1)"),
        (["--labeler", "collective", "--teacher", li, "--in-memory-tokens", "-1"], "must be >= 0"),
    ]
    for extra, expected in cases:
        assert_clean_failure(cli.main, base + extra, capsys, expected, [out])
    bad = tmp_path / "neg.jsonl"
    bad.write_text('{"qid": "q1", "positives": ["d1"], "negatives": [{"docid": "zz", "score": 1, "rank": 1}]}\n')
    assert_clean_failure(cli.main, ["--dataset", data, "--negatives", bad, "--output", out, "--labeler", "hard"], capsys,
                         "neg.jsonl:1: unknown document id 'zz'", [out])
    bad.write_text('{"qid": "q1", "positives": ["d1"]\n')
    assert_clean_failure(cli.main, ["--dataset", data, "--negatives", bad, "--output", out, "--labeler", "hard"], capsys,
                         "neg.jsonl:1: malformed JSON", [out])
    blocked = not_writable(tmp_path)
    assert_clean_failure(cli.main, ["--dataset", data, "--negatives", neg, "--output", blocked, "--labeler", "hard"], capsys,
                         "cannot create folder", [blocked])


def test_inspect_bad_inputs(setup, tmp_path, capsys):
    data, neg, li = setup
    labels = tmp_path / "l.jsonl"
    labels.write_text(json.dumps({"qid": "q1", "positives": ["d1"], "candidates": [], "expansion": []}) + "\n")
    assert_clean_failure(inspect_cli.main, ["--labels", labels, "--dataset", data, "--qid", "q7"], capsys, "no query 'q7'")
    assert_clean_failure(inspect_cli.main, ["--labels", tmp_path / "none.jsonl", "--dataset", data, "--qid", "q1"], capsys,
                         "none.jsonl: no such file")


def test_kill_during_label_then_rerun(setup, tmp_path):
    data, neg, li = setup
    argv = ["--dataset", str(data), "--negatives", str(neg), "--labeler", "collective", "--teacher", str(li),
            "--fb-docs", "2", "--fb-clusters", "4", "--fb-k", "2", "--index", str(tmp_path / "index"), "--output"]
    full, out = tmp_path / "full.jsonl", tmp_path / "killed.jsonl"
    cli.main(argv + [str(full)])
    kill_mid_run(slowed("pyserini_ckd.labeling.labelers:label_query", "pyserini_ckd.label", argv + [str(out)]), "label collective:")
    assert not out.exists()
    assert (tmp_path / "killed.jsonl.parts" / "part-0-of-1.jsonl").is_file()  # what was done, for the rerun to continue from
    cli.main(argv + [str(out)])
    assert out.read_bytes() == full.read_bytes() and not (tmp_path / "killed.jsonl.parts").exists()
