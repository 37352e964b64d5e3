"""Robustness of ``python -m pyserini_ckd.pipeline``: bad configs, datasets and workdirs fail at once."""

from pyserini_ckd.pipeline import __main__ as cli

from conftest import assert_clean_failure, not_writable, write_dataset


def test_bad_configs_datasets_workdirs(tmp_path, capsys):
    data = write_dataset(tmp_path / "tiny")
    w = tmp_path / "w"
    base = ["--dataset", data, "--workdir", w, "--transfer"]
    config = tmp_path / "c.json"
    config.write_text('{"studnets": {}}')
    assert_clean_failure(cli.main, base + ["--config", config], capsys, "unknown setting(s): studnets")
    # a misspelt nested key stops before any stage runs, named with its path (and a key of another profile is fine)
    config.write_text('{"students": {"temprature": 1, "select_every": 5}, "labels": {"prf": {"fbdocs": 2}}}')
    line = assert_clean_failure(cli.main, base + ["--config", config], capsys, "unknown setting(s): ")
    assert "students.temprature" in line and "labels.prf.fbdocs" in line and "select_every" not in line and str(config) in line
    assert not w.exists() or not any(w.iterdir())
    config.write_text('{"seeds": [1,\n')
    assert_clean_failure(cli.main, base + ["--config", config], capsys, "c.json:2: malformed JSON")
    config.write_text('{"seeds": []}')
    assert_clean_failure(cli.main, base + ["--config", config], capsys, "seeds must not be empty")
    assert_clean_failure(cli.main, base + ["--config", tmp_path / "none.json"], capsys, "none.json: no such config file")
    assert_clean_failure(cli.main, ["--dataset", tmp_path / "nope", "--workdir", w], capsys, "dataset")
    blocked = not_writable(tmp_path)
    assert_clean_failure(cli.main, ["--dataset", data, "--workdir", blocked], capsys, "cannot create folder")
    assert not (w / "results.json").exists()
