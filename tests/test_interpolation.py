"""Weight-space interpolation between the start model and the trained one, fixed or chosen on held-out queries."""

import json

import pytest
import torch

from pyserini_ckd import interpolate as interpolate_cli
from pyserini_ckd.dense import DenseEncoder
from pyserini_ckd.errors import ConfigError
from pyserini_ckd.training.interpolation import interpolate_state

from conftest import make_tiny_model, run_cli_expect_error


def test_interpolate_state_by_hand():
    start = {"w": torch.tensor([0.0, 2.0]), "ids": torch.tensor([0, 1])}
    trained = {"w": torch.tensor([4.0, 6.0]), "ids": torch.tensor([5, 6])}
    assert interpolate_state(start, trained, 0.25)["w"].tolist() == [1.0, 3.0]
    assert interpolate_state(start, trained, 0.0)["w"].tolist() == [0.0, 2.0]
    assert interpolate_state(start, trained, 1.0)["ids"].tolist() == [5, 6]  # integer buffers: the trained model's
    with pytest.raises(ConfigError, match="lambda must be in"):
        interpolate_state(start, trained, 1.5)
    with pytest.raises(ConfigError, match="not the same architecture"):
        interpolate_state(start, {"w": trained["w"]}, 0.5)


def test_fixed_and_chosen_lambda(tmp_path, tiny_dataset, capsys):
    a, b = make_tiny_model(tmp_path / "start", seed=0), make_tiny_model(tmp_path / "trained", seed=1)
    (b / "train_config.json").write_text(json.dumps({"config": {"init": str(a), "loss": "hard", "batch_size": 2,
                                                                "group_size": 2, "learning_rate": 2e-5, "seed": 0}, "steps": 1}))
    out = tmp_path / "half"
    interpolate_cli.main(["--start", str(a), "--model", str(b), "--output", str(out), "--lambda", "0.5"])
    got = DenseEncoder.load(out).backbone.state_dict()
    sa, sb = DenseEncoder.load(a).backbone.state_dict(), DenseEncoder.load(b).backbone.state_dict()
    name = "embeddings.word_embeddings.weight"
    torch.testing.assert_close(got[name], (sa[name] + sb[name]) / 2)
    assert json.loads((out / "interpolation.json").read_text())["lambda"] == 0.5
    assert "## Interpolation" in (out / "README.md").read_text()
    chosen = tmp_path / "chosen"
    interpolate_cli.main(["--start", str(a), "--model", str(b), "--output", str(chosen), "--dataset", str(tiny_dataset),
                          "--qrels", f"{tiny_dataset}:train", "--lambdas", "0", "0.5", "1"])
    record = json.loads((chosen / "interpolation.json").read_text())
    assert [row["lambda"] for row in record["grid"]] == [0.0, 0.5, 1.0] and record["queries"] == 3
    best = max(record["grid"], key=lambda r: (r["nDCG@10"], r["lambda"]))
    assert record["lambda"] == best["lambda"]
    line = run_cli_expect_error(interpolate_cli.main, ["--start", str(a), "--model", str(b), "--output", str(tmp_path / "x"),
                                                      "--dataset", str(tiny_dataset), "--qrels", f"{tiny_dataset}:test"], capsys)
    assert "never on a test split" in line and not (tmp_path / "x").exists()
    # judged by re-ranking a run's top candidates (the trainer's model selection) instead of searching the corpus
    run = tmp_path / "bm25.trec"
    run.write_text("".join(f"{q} Q0 d{i} {i} {10 - i}.0 bm25\n" for q in ("q1", "q2", "q4") for i in range(1, 9)))
    reranked = tmp_path / "reranked"
    interpolate_cli.main(["--start", str(a), "--model", str(b), "--output", str(reranked), "--dataset", str(tiny_dataset),
                          "--qrels", f"{tiny_dataset}:train", "--lambdas", "0", "1", "--rerank", str(run), "--depth", "4"])
    record = json.loads((reranked / "interpolation.json").read_text())
    assert record["judged_by"].startswith("re-ranking the top 4") and len(record["grid"]) == 2
