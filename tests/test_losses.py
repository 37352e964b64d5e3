"""Losses: each target builder against a hand computation, and the batch masks."""

import math

import pytest
import torch

from pyserini_ckd.training.data import TrainingQuery, build_batch
from pyserini_ckd.training.losses import hard_targets, kd_targets, soft_cross_entropy, uniform_targets
from pyserini_ckd.training.losses.soft_cross_entropy import kl_divergence


def test_hard_equals_torch_cross_entropy():
    torch.manual_seed(0)
    scores = torch.randn(3, 9, requires_grad=True)
    pos = torch.tensor([0, 3, 6])
    mask = torch.ones(3, 9, dtype=torch.bool)
    ours = soft_cross_entropy(scores, mask, hard_targets(pos, 9))
    theirs = torch.nn.functional.cross_entropy(scores, pos)
    assert ours.item() == pytest.approx(theirs.item(), abs=1e-6)
    g1, = torch.autograd.grad(ours, scores)
    g2, = torch.autograd.grad(theirs, scores)
    torch.testing.assert_close(g1, g2)


def test_masked_columns_leave_the_denominator():
    scores = torch.tensor([[2.0, 1.0, 50.0]])
    mask = torch.tensor([[True, True, False]])
    loss = soft_cross_entropy(scores, mask, hard_targets(torch.tensor([0]), 3))
    assert loss.item() == pytest.approx(-math.log(math.exp(2) / (math.exp(2) + math.exp(1))), abs=1e-6)


def test_uniform_targets():
    own = torch.tensor([[True, True, True, False, False, False]])
    y = uniform_targets(torch.tensor([0]), own, 0.1)
    torch.testing.assert_close(y, torch.tensor([[0.9, 0.05, 0.05, 0.0, 0.0, 0.0]]))
    with pytest.raises(ValueError):
        uniform_targets(torch.tensor([0]), own, 1.0)


def test_kd_targets_raise_positive_to_row_max_and_ignore_unscored():
    teacher = torch.tensor([[1.0, 3.0, 2.0, 99.0]])
    own = torch.tensor([[True, True, True, False]])
    y = kd_targets(teacher, own, torch.tensor([0]), temperature=0.25)
    t = torch.tensor([3.0, 3.0, 2.0]) / 0.25
    expected = torch.softmax(t, 0)
    torch.testing.assert_close(y[0, :3], expected)
    assert y[0, 3] == 0 and y.sum().item() == pytest.approx(1.0)


def test_kd_loss_gradient_equals_kl():
    torch.manual_seed(1)
    scores = torch.randn(2, 6, requires_grad=True)
    mask = torch.ones(2, 6, dtype=torch.bool)
    own = torch.zeros(2, 6, dtype=torch.bool)
    own[0, :3] = own[1, 3:] = True
    y = kd_targets(torch.randn(2, 6), own, torch.tensor([0, 3]))
    g_ce, = torch.autograd.grad(soft_cross_entropy(scores, mask, y), scores)
    g_kl, = torch.autograd.grad(kl_divergence(scores, mask, y), scores)
    torch.testing.assert_close(g_ce, g_kl)


def test_build_batch_masks_duplicates_and_other_positives():
    q1 = TrainingQuery("q1", "a", ["d1", "d2"], ["d3", "d4"], {"d1": 5.0, "d3": 4.0, "d4": 1.0})
    q2 = TrainingQuery("q2", "b", ["d3"], ["d1", "d4"], {"d3": 2.0, "d1": 1.0, "d4": 0.5})
    batch = build_batch([q1, q2], [["d1", "d3", "d4"], ["d3", "d2", "d4"]])
    assert batch.docids == ["d1", "d3", "d4", "d3", "d2", "d4"]
    # row 0: own d1 d3 d4; d3 and d4 again in row 1's group are duplicates; d2 is q1's other positive
    assert batch.mask[0].tolist() == [True, True, True, False, False, False]
    assert batch.own[0].tolist() == [True, True, True, False, False, False]
    # row 1: own d3 d2 d4; d1 (row 0) stays as an in-batch negative; row 0's d3, d4 are duplicates
    assert batch.mask[1].tolist() == [True, False, False, True, True, True]
    assert batch.own[1].tolist() == [False, False, False, True, True, True]
    assert batch.positive_columns.tolist() == [0, 3]
    assert batch.teacher[0, :3].tolist() == [5.0, 4.0, 1.0]
