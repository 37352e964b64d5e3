"""Fusion: equal to Pyserini's HybridSearcher formula, a hand-worked RRF example, and properties."""

import random

import pytest
from hypothesis import given, settings, strategies as st

from pyserini_ckd.data.records import ScoredDoc
from pyserini_ckd.fusion import FusionConfig, linear_fusion_hits, rrf_hits
from pyserini_ckd.errors import ConfigError


def _hits(scores):
    return [ScoredDoc(d, s) for d, s in sorted(scores.items(), key=lambda kv: -kv[1])]


@pytest.mark.parametrize("normalization", [False, True])
@pytest.mark.parametrize("weight_on_dense", [False, True])
def test_linear_equals_pyserini_hybrid(normalization, weight_on_dense):
    from pyserini.search.hybrid import HybridSearcher

    rng = random.Random(7)
    for _ in range(20):
        dense = {f"d{i}": rng.uniform(0, 1) for i in rng.sample(range(30), 12)}
        sparse = {f"d{i}": rng.uniform(0, 30) for i in rng.sample(range(30), 12)}
        ours = linear_fusion_hits(_hits(dense), _hits(sparse), 0.3, 10, normalization, weight_on_dense)
        theirs = HybridSearcher._hybrid_results(_hits(dense), _hits(sparse), 0.3, 10, normalization, weight_on_dense)
        assert [h.docid for h in ours] == [h.docid for h in theirs]
        assert [h.score for h in ours] == pytest.approx([h.score for h in theirs])


def test_linear_guards_equal_scores():
    hits = linear_fusion_hits([ScoredDoc("a", 1.0), ScoredDoc("b", 1.0)], [ScoredDoc("a", 2.0)], 0.5, 10, normalization=True)
    assert [h.docid for h in hits] == ["a", "b"] and all(h.score == h.score for h in hits)  # no NaN


def test_rrf_hand_worked():
    sparse = [ScoredDoc("a", 9), ScoredDoc("b", 8), ScoredDoc("c", 7)]
    dense = [ScoredDoc("c", 0.9), ScoredDoc("a", 0.8)]
    fused = rrf_hits([sparse, dense], k=10, rrf_k=60)
    assert [h.docid for h in fused] == ["a", "c", "b"]
    assert fused[0].score == pytest.approx(1 / 61 + 1 / 62)
    assert fused[1].score == pytest.approx(1 / 63 + 1 / 61)
    assert fused[2].score == pytest.approx(1 / 62)


hit_lists = st.lists(st.tuples(st.sampled_from("abcdefghij"), st.floats(-100, 100, allow_nan=False)), max_size=10)


@settings(max_examples=100, deadline=None)
@given(hit_lists, hit_lists, st.floats(0, 2), st.integers(1, 12), st.booleans())
def test_fusion_properties(dense_raw, sparse_raw, alpha, k, normalization):
    dense = _hits(dict(dense_raw))
    sparse = _hits(dict(sparse_raw))
    for fused in (linear_fusion_hits(dense, sparse, alpha, k, normalization), rrf_hits([sparse, dense], k)):
        docids = [h.docid for h in fused]
        assert len(docids) == len(set(docids)) <= k
        assert set(docids) <= {h.docid for h in dense} | {h.docid for h in sparse}
        scores = [h.score for h in fused]
        assert scores == sorted(scores, reverse=True)
        for x, y in zip(fused, fused[1:]):  # ties broken by docid, stably
            assert x.score > y.score or x.docid < y.docid
    assert linear_fusion_hits(dense, sparse, alpha, k, normalization) == linear_fusion_hits(dense, sparse, alpha, k, normalization)


def test_unknown_fusion():
    with pytest.raises(ConfigError, match="unknown fusion 'max'; choose from linear, rrf"):
        FusionConfig(method="max")


def test_unseen_slice_keeps_dev_queries_whose_relevant_documents_no_training_query_shares():
    from pyserini_ckd.hybrid import unseen_slice

    train = {"t1": {"a": 1}, "t2": {"b": 1, "z": 0}, "d1": {"a": 1}, "d2": {"c": 1}, "d3": {"c": 1, "z": 1}, "d4": {"b": 0, "e": 2}}
    dev = {q: train[q] for q in ("d1", "d2", "d3", "d4")}
    # d1 shares "a" with t1; d2 and d3 share "c" only with each other (both dev); a grade-0 judgement is no
    # relevant document on either side (d4's "b", t2's "z")
    assert unseen_slice(dev, train) == {"d2": dev["d2"], "d3": dev["d3"], "d4": dev["d4"]}
