"""Robustness of ``python -m pyserini_ckd.negatives``: bad qrels, depths and outputs."""

from pyserini_ckd import negatives as cli

from conftest import assert_clean_failure, not_writable, write_dataset


def test_bad_qrels_depth_output(tiny_bm25_index, tmp_path, capsys):
    data = write_dataset(tmp_path / "d")
    out = tmp_path / "neg.jsonl"
    base = ["--dataset", data, "--split", "train", "--bm25", tiny_bm25_index, "--output", out]
    assert_clean_failure(cli.main, base + ["--depth", "0"], capsys, "must be a positive integer", [out])
    blocked = not_writable(tmp_path)
    assert_clean_failure(cli.main, base[:-1] + [blocked], capsys, "cannot create folder", [blocked])
    with open(data / "qrels" / "train.tsv", "a") as f:
        f.write("q9\td1\t1\n")
    assert_clean_failure(cli.main, base, capsys, "train.tsv:6: unknown query id 'q9'", [out])
    (data / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tzz\t1\n")
    assert_clean_failure(cli.main, base, capsys, "train.tsv:2: unknown document id 'zz'", [out])
    assert_clean_failure(cli.main, base[:2] + ["--split", "dev"] + base[4:], capsys, "no split 'dev'", [out])
