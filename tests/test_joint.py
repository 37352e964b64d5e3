"""The joint warm start: a dense student and a late-interaction head on one backbone, trained together.
Its folder loads as a dense model and as a late-interaction teacher, and labelling with it as the
--warm-start counts no teacher training."""

import json

import pytest
import torch

from pyserini_ckd import label as label_cli
from pyserini_ckd import train as train_cli
from pyserini_ckd.dense import DenseEncoder
from pyserini_ckd.teacher.joint import JointConfig, JointEncoder, is_joint_dir
from pyserini_ckd.teacher.late_interaction import LateInteractionEncoder
from pyserini_ckd.teacher.maxsim import maxsim_pairwise
from pyserini_ckd.training.losses import hard_targets, soft_cross_entropy

from conftest import DOCS, make_tiny_model, write_dataset, write_negatives

TEXTS = [f"{t} {x}" for _, t, x in DOCS]
QUERIES = ["does aspirin prevent heart attack", "what raises blood pressure"]


@pytest.fixture(scope="module")
def joint_init(tmp_path_factory):
    root = tmp_path_factory.mktemp("joint")
    dense = make_tiny_model(root / "dense", dropout=0.0)
    torch.manual_seed(0)
    JointEncoder.build(dense, JointConfig(li_weight=0.5), dim=16, query_maxlen=8, doc_maxlen=24).save(root / "init")
    return root / "init"


def test_training_scores_equal_each_head_alone(joint_init):
    """One forward gives the dense head's q.p / tau and the late-interaction head's MaxSim, each as its
    own encoder computes them (the shared padding changes nothing)."""
    model = JointEncoder.load(joint_init)
    assert is_joint_dir(joint_init) and model.head_weights == (1.0, 0.5)
    with torch.no_grad():
        q, p = model.training_forward(model, QUERIES, TEXTS[:3])
        scores = model.pairwise_scores(q, p)
    dense = DenseEncoder.load(joint_init)
    expected_dense = dense.encode(QUERIES, kind="query", precision="fp32") @ dense.encode(TEXTS[:3], precision="fp32").T
    torch.testing.assert_close(scores[0], torch.from_numpy(expected_dense) / 0.05, atol=1e-4, rtol=1e-4)
    li = LateInteractionEncoder.load(joint_init)
    torch.testing.assert_close(scores[1], li.score(QUERIES, TEXTS[:3]), atol=1e-4, rtol=1e-4)
    # the parameters are the backbone's and the projection's, each once
    names = [n for n, _ in model.named_parameters()]
    assert len(names) == len(set(names)) and any(n.startswith("projection.") for n in names)
    assert len(list(model.parameters())) == len(list(dense.backbone.parameters())) + 1


def test_loss_is_the_weighted_sum_of_the_heads(joint_init, tmp_path):
    from pyserini_ckd.training.config import TrainConfig
    from pyserini_ckd.training.data import TrainingQuery
    from pyserini_ckd.training.trainer import Trainer

    model = JointEncoder.load(joint_init)
    trainer = Trainer(TrainConfig(output=tmp_path / "o", student_temperature=1.0), [TrainingQuery("q1", "x", ["d1"], ["d2"])],
                      {}, model=model)
    scores = torch.randn(2, 2, 4)
    mask = torch.ones(2, 4, dtype=torch.bool)
    targets = hard_targets(torch.tensor([0, 2]), 4)
    expected = soft_cross_entropy(scores[0], mask, targets) + 0.5 * soft_cross_entropy(scores[1], mask, targets)
    torch.testing.assert_close(trainer._loss(scores, mask, targets), expected)


def test_train_joint_then_label_with_it_as_the_warm_start(joint_init, tmp_path):
    data = write_dataset(tmp_path / "tiny")
    neg = write_negatives(tmp_path / "neg.jsonl")
    out = tmp_path / "warm"
    train_cli.main(["--dataset", str(data), "--negatives", str(neg), "--model", "joint", "--init", str(joint_init),
                    "--output", str(out), "--group-size", "3", "--batch-size", "3", "--steps", "25",
                    "--learning-rate", "3e-3", "--warmup-ratio", "0"])
    log = [json.loads(l) for l in (out / "train_log.jsonl").read_text().splitlines()]
    assert sum(e["loss"] for e in log[-5:]) < sum(e["loss"] for e in log[:5])
    summary = json.loads((out / "train_config.json").read_text())
    assert summary["config"]["student_temperature"] == 1.0 and summary["train_seconds"] > 0
    # a dense model folder (the students' init, Pyserini, sentence-transformers) ...
    from sentence_transformers import SentenceTransformer

    assert SentenceTransformer(str(out), device="cpu").encode(["aspirin"]).shape == (1, 32)
    init_dense = DenseEncoder.load(joint_init).encode(["aspirin"], kind="query")
    assert not torch.allclose(torch.from_numpy(DenseEncoder.load(out).encode(["aspirin"], kind="query")), torch.from_numpy(init_dense))
    # ... and a late-interaction teacher whose projection was trained too
    trained, init = LateInteractionEncoder.load(out), LateInteractionEncoder.load(joint_init)
    assert not torch.allclose(trained.projection.weight, init.projection.weight)
    q, d, m = trained.encode_queries(QUERIES), *trained.encode_docs(TEXTS[:2])[:2]
    assert maxsim_pairwise(q, d, m, "l2").shape == (2, 2)
    # the teacher is the shared warm start: no training of its own in the teacher cost
    labels = tmp_path / "collective.jsonl"
    label_cli.main(["--dataset", str(data), "--labeler", "collective", "--negatives", str(neg), "--output", str(labels),
                    "--teacher", str(out), "--warm-start", str(out), "--teacher-depth", "5", "--fb-docs", "2",
                    "--fb-clusters", "4", "--fb-k", "2"])
    meta = json.loads(labels.with_name(labels.name + ".meta.json").read_text())
    assert meta["teacher_kind"] == "late-interaction" and meta["seconds"]["teacher_training"] == 0.0
    assert meta["teacher_cost_seconds"] == pytest.approx(meta["seconds"]["index"] + meta["seconds"]["prf"] + meta["seconds"]["scoring"], abs=0.02)
