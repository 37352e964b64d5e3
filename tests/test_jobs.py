"""Jobs: each stage's settings in one dataclass, its command line generated from it, the pipeline building it."""

import ast
import dataclasses
import json
from pathlib import Path

import pytest

from pyserini_ckd import label as label_cli
from pyserini_ckd import train as train_cli
from pyserini_ckd.errors import ConfigError
from pyserini_ckd.jobs import check_values, from_args, from_mapping
from pyserini_ckd.labeling.job import LabelJob
from pyserini_ckd.labeling.labelers import LabelSettings
from pyserini_ckd.training.config import TrainConfig

PACKAGE = Path(__file__).resolve().parents[1] / "pyserini_ckd"


def test_every_trainer_setting_is_an_option_and_parses_back():
    args = train_cli.build_parser().parse_args(["--dataset", "d", "--negatives", "n.jsonl", "--output", "o", "--steps", "3",
                                                "--max-length", "64", "--gradient-checkpointing", "--model", "joint"])
    job = train_cli.job_from_args(args)
    assert job.model == "joint" and job.negatives == Path("n.jsonl") and job.labels is None
    assert job.config.steps == 3 and job.config.max_length == 64 and job.config.gradient_checkpointing
    # defaults the data and the model kind decide: hard without labels; a joint model's own temperature
    assert job.config.loss == "hard" and job.config.student_temperature == 1.0
    args = train_cli.build_parser().parse_args(["--dataset", "d", "--labels", "l.jsonl", "--output", "o"])
    job = train_cli.job_from_args(args)
    assert job.config.loss == "kd" and job.config.student_temperature == 0.05
    options = {a.dest for a in train_cli.build_parser()._actions}
    assert {f.name for f in dataclasses.fields(TrainConfig)} <= options


def test_train_job_validates_its_data():
    config = {"output": "o"}
    with pytest.raises(ConfigError, match="one of --labels"):
        train_cli.TrainJob.create(config_values=config, dataset="d")
    with pytest.raises(ConfigError, match="one of --labels"):
        train_cli.TrainJob.create(config_values=config, dataset="d", labels=Path("l"), negatives=Path("n"))
    with pytest.raises(ConfigError, match="kd needs --labels"):
        train_cli.TrainJob.create(config_values={**config, "loss": "kd"}, dataset="d", negatives=Path("n"))


def test_prf_settings_that_had_no_option_now_have_one():
    args = label_cli.build_parser().parse_args(["--dataset", "d", "--output", "o.jsonl", "--labeler", "collective",
                                                "--negatives", "n", "--prf-nearest", "5", "--prf-kmeans-iters", "7",
                                                "--fb-docs", "2", "--rocchio-beta", "0.25", "--ranking", "r.trec"])
    job = from_args(LabelJob, args)
    assert (job.settings.prf.nearest, job.settings.prf.kmeans_iters, job.settings.prf.fb_docs) == (5, 7, 2)
    assert job.settings.rocchio.beta == 0.25 and job.settings.rocchio.fb_docs == 3 and job.run == Path("r.trec")


def test_profile_sections_build_settings_or_name_the_bad_key():
    s = from_mapping(LabelSettings, {"bm25_negatives": 4, "prf": {"fb_k": 3, "nearest": 2}})
    assert s.bm25_negatives == 4 and s.prf.fb_k == 3 and s.prf.nearest == 2 and s.prf.fb_docs == 3
    with pytest.raises(ConfigError, match="LabelSettings.prf.fbk"):
        from_mapping(LabelSettings, {"prf": {"fbk": 3}})
    with pytest.raises(ConfigError, match="prf: fb-k must be positive"):
        from_mapping(LabelSettings, {"prf": {"fb_k": 0}})
    with pytest.raises(ConfigError, match="students.epochs must be a number, got 'one'"):
        check_values(TrainConfig, {"epochs": "one"}, "students")
    with pytest.raises(ConfigError, match="students.steps must be an integer or null, got 2.5"):
        check_values(TrainConfig, {"steps": 2.5}, "students")
    check_values(TrainConfig, {"epochs": 1, "steps": None, "gradient_checkpointing": True}, "students")  # an int is a number


def test_the_pipeline_builds_jobs_not_command_lines():
    """No module of pyserini_ckd/pipeline (its own __main__ aside) imports a command-line module."""
    clis = {p.stem for p in PACKAGE.glob("*.py") if "def main(" in p.read_text()}
    assert {"train", "label", "encode"} <= clis
    for path in (PACKAGE / "pipeline").glob("*.py"):
        if path.name == "__main__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module is None:
                assert not {a.name for a in node.names} & clis, (path.name, [a.name for a in node.names])
            if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module in clis:
                raise AssertionError(f"{path.name} imports pyserini_ckd.{node.module}")


def test_a_profile_value_of_the_wrong_type_or_range_stops_before_any_stage(tmp_path, capsys):
    from pyserini_ckd.pipeline import __main__ as pipeline_cli

    from conftest import write_dataset

    data = write_dataset(tmp_path / "tiny")
    w = tmp_path / "w"
    config = tmp_path / "c.json"
    for settings, message in ((({"students": {"learning_rate": "fast"}}), "students.learning_rate must be a number"),
                              ({"teacher": {"batch_size": 0}}, "teacher: batch-size must be positive, got 0"),
                              ({"labels": {"prf": {"fb_docs": -1}}}, "labels: prf: fb-docs must be positive"),
                              ({"cross_encoder": {"epochs": True}}, "cross_encoder.epochs must be a number, got True"),
                              ({"bm25": {"hits": 0}}, "bm25: hits must be positive, got 0"),
                              ({"fusion": {"tune_on": "test"}}, "fusion: tune_on must be one of dev, dev-unseen"),
                              ({"encoder": {"batch_size": "big"}}, "encoder.batch_size must be an integer"),
                              ({"holdout_fraction": 1.5}, "holdout_fraction must be in [0, 1)"),
                              ({"labels": {"prf": {"nearest": 5}, "rocchio": {"alpha": -1}}}, "labels: rocchio:")):
        config.write_text(json.dumps(settings))
        with pytest.raises(SystemExit) as exc:
            pipeline_cli.main(["--dataset", str(data), "--workdir", str(w), "--config", str(config)])
        line = capsys.readouterr().err.strip()
        assert exc.value.code == 2 and message in line and str(config) in line and "\n" not in line
        assert not w.exists() or not any(w.iterdir())
