"""Fusion: equal to Pyserini's HybridSearcher formula, a hand-worked RRF example, and properties."""

import random

import pytest
from hypothesis import given, settings, strategies as st

from pyserini_ckd.data.records import ScoredDoc
from pyserini_ckd.retrieval.fusion import FusionConfig, linear_fusion_hits, rrf_hits
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
    # the order of the input lists does not matter (the fused ranking depends on scores, ties on docids)
    assert linear_fusion_hits(dense, sparse, alpha, k, normalization) == linear_fusion_hits(dense[::-1], sparse[::-1], alpha, k,
                                                                                              normalization)
    # with alpha = 0 and no normalization, linear fusion is the dense list's own top k (a document only in the
    # sparse list scores the dense list's minimum there, as Pyserini's HybridSearcher does, so it may tie in)
    if dense and not normalization:
        fused = linear_fusion_hits(dense, sparse, 0.0, k, False)
        top = sorted(dense, key=lambda h: (-h.score, h.docid))[:k]
        assert [h.score for h in fused][:len(top)] == pytest.approx([h.score for h in top])


def test_unknown_fusion():
    with pytest.raises(ConfigError, match="unknown fusion 'max'; choose from linear, rrf"):
        FusionConfig(method="max")


def test_unseen_slice_keeps_dev_queries_whose_relevant_documents_no_training_query_shares():
    from pyserini_ckd.retrieval.fusion_tuning import unseen_slice

    train = {"t1": {"a": 1}, "t2": {"b": 1, "z": 0}, "d1": {"a": 1}, "d2": {"c": 1}, "d3": {"c": 1, "z": 1}, "d4": {"b": 0, "e": 2}}
    dev = {q: train[q] for q in ("d1", "d2", "d3", "d4")}
    # d1 shares "a" with t1; d2 and d3 share "c" only with each other (both dev); a grade-0 judgement is no
    # relevant document on either side (d4's "b", t2's "z")
    assert unseen_slice(dev, train) == {"d2": dev["d2"], "d3": dev["d3"], "d4": dev["d4"]}


def test_tune_fusion_moves_off_the_default_only_on_a_significant_gain():
    from pyserini_ckd.retrieval.fusion_tuning import tune_fusion

    # the relevant document "r" is 2nd in the dense run and 1st in BM25: some weight on BM25 lifts it
    def runs(n, already_first=()):
        dense = {f"q{i}": [ScoredDoc("x", 1.0), ScoredDoc("r", 0.9), ScoredDoc("y", 0.1)] for i in range(n)}
        sparse = {f"q{i}": [ScoredDoc("r", 10.0), ScoredDoc("y", 9.0), ScoredDoc("x", 1.0)] for i in range(n)}
        for q in already_first:  # here the dense run has it first already, BM25 last: nothing to gain
            dense[q] = [ScoredDoc("r", 1.0), ScoredDoc("x", 0.9), ScoredDoc("y", 0.1)]
            sparse[q] = [ScoredDoc("x", 10.0), ScoredDoc("y", 9.0), ScoredDoc("r", 1.0)]
        return dense, sparse, {f"q{i}": {"r": 1} for i in range(n)}

    base = FusionConfig(method="linear", alpha=0.0, normalization=True)
    # 11 of 12 queries gain: significant, the gate moves as the plain argmax does
    dense, sparse, qrels = runs(12, ["q11"])
    plain, table = tune_fusion(dense, sparse, qrels, base)
    assert plain.alpha > 0 and tune_fusion(dense, sparse, qrels, base, significance=0.05)[0].alpha == plain.alpha
    assert {row["alpha"] for row in table} >= {0.0, 1.0}
    # 2 of 3 gain: the same best value, not significant (p about 0.18), the default stays
    dense, sparse, qrels = runs(3, ["q2"])
    assert tune_fusion(dense, sparse, qrels, base)[0].alpha == plain.alpha
    assert tune_fusion(dense, sparse, qrels, base, significance=0.05)[0].alpha == 0.0
