"""The trainer on a tiny random model: it learns, saves a loadable model with its log, resumes exactly
after kill -9, and two gloo processes give the single process's weights."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from pyserini_ckd import train as train_cli
from pyserini_ckd.dense import DenseEncoder
from pyserini_ckd.training.config import TrainConfig
from pyserini_ckd.training.data import TrainingQuery
from pyserini_ckd.training.trainer import Trainer

from conftest import DOCS, make_tiny_model, run_cli_expect_error, write_negatives

PASSAGES = {d: f"{t} {x}" for d, t, x in DOCS}


def _weights(model_dir: Path):
    return load_file(str(model_dir / "model.safetensors"))


def _assert_same_weights(a: Path, b: Path, atol=1e-5):
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], atol=atol, rtol=1e-4, msg=k)


def test_training_lowers_the_loss_and_saves_a_loadable_model(tiny_model, tmp_path):
    queries = [TrainingQuery("q1", "does aspirin prevent heart attack", ["d1"], ["d5", "d6", "d2", "d4"]),
               TrainingQuery("q2", "what raises blood pressure", ["d7"], ["d6", "d3", "d4", "d1"]),
               TrainingQuery("q4", "cholesterol lowering drugs", ["d2"], ["d1", "d5", "d8", "d7"])]
    config = TrainConfig(output=tmp_path / "student", loss="hard", group_size=3, batch_size=3, steps=30,
                         learning_rate=3e-3, warmup_ratio=0.0, checkpoint_every=10)
    Trainer(config, queries, PASSAGES, model=DenseEncoder.load(tiny_model)).train()
    log = [json.loads(l) for l in (tmp_path / "student" / "train_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == list(range(1, 31))
    assert sum(e["loss"] for e in log[-5:]) < sum(e["loss"] for e in log[:5])
    assert {"step", "epoch", "loss", "lr", "examples_per_s"} <= log[0].keys()
    assert (tmp_path / "student" / "loss.png").stat().st_size > 1000
    summary = json.loads((tmp_path / "student" / "train_config.json").read_text())
    assert summary["steps"] == 30 and summary["examples_per_s_median"] > 0
    from sentence_transformers import SentenceTransformer

    assert SentenceTransformer(str(tmp_path / "student"), device="cpu").encode(["aspirin"]).shape == (1, 32)
    assert sorted(p.name for p in (tmp_path / "student.checkpoints").glob("step-*")) == ["step-20", "step-30"]


@pytest.mark.parametrize("loss", ["uniform", "kd"])
def test_soft_losses_run(tiny_model, tmp_path, loss):
    scores = {"d1": 3.0, "d5": 2.5, "d6": 0.1, "d2": 1.0}
    queries = [TrainingQuery("q1", "does aspirin prevent heart attack", ["d1"], ["d5", "d2", "d6"], scores),
               TrainingQuery("q5", "coffee and the heart", ["d5"], ["d1", "d6", "d2"], {"d5": 1.0, "d1": 2.0, "d6": 0.0, "d2": 0.5})]
    config = TrainConfig(output=tmp_path / loss, loss=loss, group_size=3, batch_size=2, steps=4)
    start = DenseEncoder.load(tiny_model)
    before = {k: v.clone() for k, v in start.state_dict().items()}
    Trainer(config, queries, PASSAGES, model=start).train()
    trained = DenseEncoder.load(tmp_path / loss).state_dict()
    assert any(not torch.equal(before[k], trained[k]) for k in before)  # the loss moved the weights
    summary = json.loads((tmp_path / loss / "train_config.json").read_text())
    assert summary["config"]["loss"] == loss and summary["steps"] == 4


def _train_argv(dataset, negatives, model, out, extra=()):
    return ["--dataset", str(dataset), "--negatives", str(negatives), "--init", str(model), "--output", str(out),
            "--group-size", "3", "--batch-size", "2", "--steps", "12", "--checkpoint-every", "2",
            "--learning-rate", "1e-3", *extra]


def test_kill_then_resume_equals_uninterrupted(tiny_dataset, tmp_path):
    model = make_tiny_model(tmp_path / "init")  # with dropout: the RNG state must be restored too
    negatives = write_negatives(tmp_path / "neg.jsonl")
    full = tmp_path / "full"
    train_cli.main(_train_argv(tiny_dataset, negatives, model, full))
    resumed = tmp_path / "resumed"
    from test_robustness_encode import slowed

    cmd = slowed("pyserini_ckd.training.trainer:Trainer._train_step", "pyserini_ckd.train",
                 _train_argv(tiny_dataset, negatives, model, resumed), seconds=0.4)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpts = tmp_path / "resumed.checkpoints"
    deadline = time.time() + 240
    while time.time() < deadline and not (ckpts / "step-6" / "trainer_state.pt").is_file():
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not resumed.exists(), "killed before the end: no final model"
    done = sorted(int(p.name.split("-")[1]) for p in ckpts.glob("step-*") if (p / "trainer_state.pt").is_file())
    assert done and done[-1] < 12
    train_cli.main(_train_argv(tiny_dataset, negatives, model, resumed, ["--resume"]))
    _assert_same_weights(full, resumed)
    log = [json.loads(l)["step"] for l in (resumed / "train_log.jsonl").read_text().splitlines()]
    assert log == list(range(1, 13))


def free_port() -> int:
    """A port the OS says is free now (a fixed one collides with a concurrent run on the same machine)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes_equal_one(tiny_dataset, tmp_path):
    model = make_tiny_model(tmp_path / "init", dropout=0.0)
    negatives = write_negatives(tmp_path / "neg.jsonl")
    single = tmp_path / "single"
    train_cli.main(_train_argv(tiny_dataset, negatives, model, single, ["--steps", "4"]))
    ddp = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    proc = subprocess.run([str(torchrun), "--nproc_per_node", "2", "--master_port", str(free_port()), "-m", "pyserini_ckd.train",
                           *_train_argv(tiny_dataset, negatives, model, ddp, ["--steps", "4"])],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    _assert_same_weights(single, ddp, atol=1e-5)


def test_bad_training_settings(tiny_dataset, tiny_model, tmp_path, capsys):
    negatives = write_negatives(tmp_path / "neg.jsonl")
    base = ["--dataset", str(tiny_dataset), "--negatives", str(negatives), "--init", str(tiny_model), "--output", str(tmp_path / "o")]
    assert "must be a positive integer" in run_cli_expect_error(train_cli.main, base + ["--batch-size", "0"], capsys)
    assert "--loss kd needs --labels" in run_cli_expect_error(train_cli.main, base + ["--loss", "kd"], capsys)
    line = run_cli_expect_error(train_cli.main, base + ["--batch-size", "3", "--grad-accumulation", "2"], capsys)
    assert "multiple of grad-accumulation" in line
    bad = tmp_path / "bad-neg.jsonl"
    bad.write_text('{"qid": "q1", "positives": ["d1"], "negatives": [{"docid": "nope", "score": 1, "rank": 1}]}\n')
    line = run_cli_expect_error(train_cli.main, base[:2] + ["--negatives", str(bad)] + base[4:], capsys)
    assert f"{bad}:1: unknown document id 'nope'" in line
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"qid": "q1", "positives": ["d1"], "candidates": [{"docid": "d1", "score": 1.0}, {"docid": "zz", "score": 0.5}]}\n')
    line = run_cli_expect_error(train_cli.main, base[:2] + ["--labels", str(labels)] + base[4:], capsys)
    assert f"{labels}:1: unknown document id 'zz'" in line
    assert not (tmp_path / "o").exists()


def test_one_holdout_per_experiment(tiny_dataset, tiny_model, tmp_path):
    """Students of another seed hold out the same queries when given the experiment's --holdout-seed (the
    pipeline passes its first seed); with their own seed they would train on the first seed's dev queries."""
    negatives = write_negatives(tmp_path / "neg.jsonl")

    def held(seed, extra=()):
        qrels = tmp_path / f"dev-{seed}-{len(extra)}.tsv"
        train_cli.main(["--dataset", str(tiny_dataset), "--negatives", str(negatives), "--init", str(tiny_model),
                        "--output", str(tmp_path / f"m-{seed}-{len(extra)}"), "--group-size", "2", "--batch-size", "1",
                        "--steps", "1", "--seed", str(seed), "--holdout-fraction", "0.5", "--holdout-qrels", str(qrels), *extra])
        return {line.split("\t")[0] for line in qrels.read_text().splitlines()[1:]}

    assert held(42) != held(43)  # each seed's own hold-out: q1 and q4 against q2
    assert held(42, ["--holdout-seed", "42"]) == held(43, ["--holdout-seed", "42"]) == {"q1", "q4"}


def test_pipeline_passes_one_holdout_seed(tmp_path):
    from pyserini_ckd.pipeline.config import PipelineConfig
    from pyserini_ckd.pipeline.experiment import Experiment

    from conftest import write_dataset

    data = write_dataset(tmp_path / "tiny")
    settings = tmp_path / "seeds.json"
    settings.write_text('{"seeds": [7, 8]}')
    exp = Experiment(PipelineConfig(dataset=str(data), workdir=tmp_path / "w", profile="quick", config_file=settings))
    for seed in (7, 8):
        job = exp.train_job(seed, "dense", tmp_path / "init", tmp_path / f"s{seed}", {"steps": 1})
        assert job.holdout_seed == 7 and job.config.seed == seed


def test_model_selection_keeps_the_best_step(tiny_model, tmp_path):
    """Held-out queries scored at steps 0, 2, 4, 6: the saved weights are those of the best step (here the start,
    since a learning rate of 0.5 wrecks the tiny model), and train_config.json records every score."""
    from pyserini_ckd.training.selection import SelectionSet, evaluate

    queries = [TrainingQuery("q1", "does aspirin prevent heart attack", ["d1"], ["d5", "d6", "d2", "d4"]),
               TrainingQuery("q2", "what raises blood pressure", ["d7"], ["d6", "d3", "d4", "d1"])]
    held = SelectionSet({"q4": "cholesterol lowering drugs"}, {"q4": ["d1", "d2", "d5", "d8"]}, {"q4": {"d2": 1}})
    config = TrainConfig(output=tmp_path / "s", loss="hard", group_size=3, batch_size=2, steps=6, learning_rate=0.5,
                         warmup_ratio=0.0, select_every=2, max_length=8)
    start = evaluate(DenseEncoder.load(tiny_model), held, PASSAGES)
    Trainer(config, queries, PASSAGES, model=DenseEncoder.load(tiny_model), selection=held).train()
    sel = json.loads((tmp_path / "s" / "train_config.json").read_text())["selection"]
    assert set(sel["history"]) == {"0", "2", "4", "6"} and sel["history"]["0"] == pytest.approx(start, abs=1e-6)
    best = max(sel["history"].values())
    assert sel["chosen_score"] == pytest.approx(best) and sel["history"][str(sel["chosen_step"])] == pytest.approx(best)
    assert evaluate(DenseEncoder.load(tmp_path / "s"), held, PASSAGES) == pytest.approx(best, abs=1e-6)
    if sel["chosen_step"] == 0:
        _assert_same_weights(tmp_path / "s", Path(tiny_model))
    # the saved folder keeps the model's own length, not the training cut
    assert DenseEncoder.load(tmp_path / "s").config.passage_max_length == DenseEncoder.load(tiny_model).config.passage_max_length
