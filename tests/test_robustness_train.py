"""Robustness of ``python -m pyserini_ckd.train`` (kill -9 and resume: tests/test_trainer.py)."""

from pyserini_ckd import train as cli

from conftest import assert_clean_failure, not_writable, write_negatives


def test_bad_inputs_and_settings(tiny_dataset, tiny_model, tmp_path, capsys):
    neg = write_negatives(tmp_path / "neg.jsonl")
    out = tmp_path / "model"
    base = ["--dataset", tiny_dataset, "--init", tiny_model, "--output", out]
    labels = tmp_path / "labels.jsonl"
    cases = [
        (["--negatives", neg, "--batch-size", "0"], "must be a positive integer"),
        (["--negatives", neg, "--group-size", "-2"], "must be a positive integer"),
        (["--negatives", neg, "--steps", "0"], "must be a positive integer"),
        (["--negatives", neg, "--learning-rate", "0"], "learning-rate must be positive"),
        (["--negatives", neg, "--loss", "kd"], "--loss kd needs --labels"),
        (["--negatives", neg, "--holdout-fraction", "1.5"], "holdout-fraction must be in [0, 1)"),
    ]
    for extra, expected in cases:
        assert_clean_failure(cli.main, base + extra, capsys, expected, [out])
    labels.write_text('{"qid": "q1", "positives": ["d1"], "candidates": [{"docid": "d1", "score": 1.0}, {"docid": "zz", "score": 0.5}]}\n')
    assert_clean_failure(cli.main, base + ["--labels", labels], capsys, "labels.jsonl:1: unknown document id 'zz'", [out])
    labels.write_text('{"qid": "q1", "positives": ["d1"], "candidates": [{"docid": "d2", "score": 0.5}]}\n')
    assert_clean_failure(cli.main, base + ["--labels", labels], capsys, "positive 'd1' has no teacher score", [out])
    labels.write_text('{"qid": "nope", "positives": ["d1"], "candidates": [{"docid": "d1", "score": 0.5}]}\n')
    assert_clean_failure(cli.main, base + ["--labels", labels], capsys, "labels.jsonl:1: unknown query id 'nope'", [out])
    (tmp_path / "no-config").mkdir()
    assert_clean_failure(cli.main, ["--dataset", tiny_dataset, "--init", tmp_path / "no-config", "--output", out, "--negatives", neg],
                         capsys, "model directory without its config.json", [out])
    blocked = not_writable(tmp_path)
    assert_clean_failure(cli.main, ["--dataset", tiny_dataset, "--init", tiny_model, "--output", blocked, "--negatives", neg,
                                    "--steps", "1", "--batch-size", "2", "--group-size", "3"], capsys, "cannot create folder", [blocked])
