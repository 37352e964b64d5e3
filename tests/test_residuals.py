"""Residual codes (ColBERTv2's compression) of a teacher's token vectors: the codec, the decompressed MaxSim
bounded by the codes' error, and the search and PRF look-ups through them."""

import numpy as np
import pytest
import torch

from test_teacher import _synthetic_index


@pytest.mark.parametrize("nbits", [1, 2, 4, 8])
def test_codes_decode_to_their_buckets_weights(nbits):
    """Each dimension decodes to the weight of the bucket its value falls in (#{j : x >= k_j}), the packed
    layout puts dimension d in byte d // (8 / nbits), and more bits lose less."""
    from pyserini_ckd.teacher.residuals import ResidualCodec

    r = np.random.default_rng(0).normal(0, 0.1, (200, 16)).astype(np.float32)
    codec = ResidualCodec.fit(r, nbits)
    assert len(codec.cutoffs) == 2 ** nbits - 1 and np.all(np.diff(codec.cutoffs) > 0)
    packed = codec.encode(r)
    assert packed.shape == (200, 16 * nbits // 8) and packed.dtype == np.uint8
    decoded = codec.decode(torch.from_numpy(packed)).numpy()
    halves = codec.decode(torch.from_numpy(packed), dtype=torch.bfloat16)  # one integer gathered a byte
    assert halves.dtype == torch.bfloat16
    np.testing.assert_array_equal(halves.float().numpy(), torch.from_numpy(decoded).bfloat16().float().numpy())
    np.testing.assert_array_equal(decoded, codec.weights[(r[:, :, None] >= codec.cutoffs).sum(-1)])
    first = (packed[:, 0] & ((1 << nbits) - 1)).astype(np.int64)  # dimension 0: the low bits of byte 0
    np.testing.assert_array_equal(codec.weights[first], decoded[:, 0])
    error = float(((decoded - r) ** 2).mean() / (r ** 2).mean())
    assert error < {1: 0.5, 2: 0.2, 4: 0.05, 8: 0.01}[nbits]
    for dtype in (torch.float32, torch.bfloat16):  # no rows (an empty list probed beside others): (0, dim)
        assert codec.decode(torch.from_numpy(packed[:0]), dtype=dtype).shape == (0, 16)
    again = ResidualCodec.from_json(codec.to_json())
    np.testing.assert_array_equal(again.decode(torch.from_numpy(packed)).numpy(), decoded)
    with pytest.raises(ValueError, match="residual bits"):
        ResidualCodec.fit(r, 3)


@pytest.mark.parametrize("nbits,similarity", [(2, "cosine"), (8, "cosine"), (2, "l2")])
def test_decompressed_maxsim_is_within_the_codes_error(tmp_path, monkeypatch, nbits, similarity):
    """D(d) differs from the exact MaxSim by at most sum_i |w_i| |q_i| e (inner product; twice that for L2, whose
    ||t||^2 is stored), e = max_t ||r(t) - r_hat(t)|| (plus float16 rounding of the norms); the codes in list
    order (placed in several rounds, each of several chunks) are those in row order; chunks do not move D."""
    from pyserini_ckd.teacher.centroid_index import build_centroid_index
    from pyserini_ckd.teacher.residuals import build_residuals
    from pyserini_ckd.teacher.token_index import product_error, scan_dtype

    idx = _synthetic_index(tmp_path / "ix", [3, 0, 7, 1, 12, 5] * 20, similarity=similarity)
    ivf = build_centroid_index(idx, centroids=8)
    monkeypatch.setattr("pyserini_ckd.teacher.residuals.PLACE_ROWS", 100)  # the list order placed several times
    res = build_residuals(idx, ivf, nbits, chunk=64)
    assert ivf.residuals is not None and res.meta["nbits"] == nbits
    tokens = idx.read_rows(0, idx.tokens.shape[0])
    codes = np.asarray(ivf.codes).astype(np.int64)
    r = tokens - ivf.centroids.numpy()[codes]
    worst = float(np.linalg.norm(r - res.decode_rows(np.arange(len(tokens))).numpy(), axis=1).max())
    listed = np.asarray(ivf.tokens).astype(np.int64)
    np.testing.assert_array_equal(np.asarray(res.lists), np.asarray(res.rows)[listed])
    q, weights = torch.randn(3, 16), torch.tensor([1.0, 0.5, 2.0])
    docs = np.arange(idx.num_docs)
    approx = ivf._decompressed(ivf.scores(q), q, weights, docs)
    with monkeypatch.context() as m:  # scored 3 documents at a time, advised 5 at a time: the same scores
        m.setattr("pyserini_ckd.teacher.centroid_index.SCORE_CHUNK", 3)
        m.setattr("pyserini_ckd.teacher.centroid_index.DECOMPRESS_READ", 5)
        np.testing.assert_array_equal(ivf._decompressed(ivf.scores(q), q, weights, docs), approx)
    exact = idx.maxsim_docs(q, docs, weights).numpy()
    per = q.norm(dim=1) if similarity == "cosine" else 2 * q.norm(dim=1)
    r_hat = float(res.decode_rows(np.arange(len(tokens))).norm(dim=1).max())
    rounding = product_error(scan_dtype("cpu")) * r_hat * (1 if similarity == "cosine" else 2)  # q . r_hat in bf16
    bound = float((weights.abs() * (per * worst + q.norm(dim=1) * rounding)).sum()) + 1e-3 * float(weights.abs().sum())
    assert np.all(np.abs(approx - exact) <= bound)
    assert np.all(approx[idx.lengths == 0] == 0)
    if nbits == 8:  # quantile buckets: fine in the bulk, wide only in the tails
        assert np.median(np.abs(approx - exact)) < 0.01 * np.abs(exact).max()


def test_search_through_residual_codes(tmp_path, monkeypatch):
    """With ndecompress the codes are built on first use; the full interaction keeps ndecompress documents and the
    codes pick the nexact scored exactly; PRF's nearest tokens ranked from the list-order codes (8 bits) are the
    exact ones among the probed lists, and re-scoring the codes' best exactly finds at least as many of them."""
    from pyserini_ckd.teacher.centroid_index import Approximate, CentroidIndex, build_centroid_index

    idx = _synthetic_index(tmp_path / "ix", [20] * 400, dim=32, similarity="l2")
    ivf = build_centroid_index(idx, centroids=64)
    rng = np.random.default_rng(1)
    settings = Approximate(ncells=4, ndocs=200, nexact=10, ndecompress=60, residual_bits=8)
    found = 0
    for target in rng.choice(idx.num_docs, 5, replace=False):
        rows = np.asarray(idx.tokens[idx.offsets[target]:idx.offsets[target] + 8], dtype=np.float32)
        q = torch.from_numpy(rows + 0.05 * rng.standard_normal(rows.shape).astype(np.float32))
        top = idx.search(q, 1, approximate=settings)
        kept, full_kept, pool = idx.centroid_index().stages(q, None, settings)
        assert len(kept) == 200 and len(full_kept) == 60 and len(pool) == 10
        assert set(pool) <= set(full_kept) <= set(kept)
        found += top[0][0] == int(target)
    assert found == 5
    ivf = CentroidIndex(tmp_path / "ix" / "ivf", idx.offsets, idx.similarity)
    assert ivf.residuals.meta["nbits"] == 8  # written by the first search
    vectors = torch.from_numpy(np.asarray(idx.tokens[:6], dtype=np.float32))
    exact = ivf.nearest_tokens(vectors, 5, idx.tokens, cells=3)
    monkeypatch.setattr("pyserini_ckd.teacher.centroid_index.PRF_RESCORE", 0)  # ranked from the codes alone
    coded = ivf.nearest_tokens(vectors, 5, idx.tokens, cells=3, codes=True)
    assert coded.shape == exact.shape
    agree = np.mean([len(set(a.tolist()) & set(b.tolist())) / 5 for a, b in zip(exact, coded)])
    assert agree >= 0.9
    # the best R k by their codes re-scored exactly: with R covering every probed token, the exact look-up
    monkeypatch.setattr("pyserini_ckd.teacher.centroid_index.PRF_RESCORE", 10 ** 4)
    assert torch.equal(ivf.nearest_tokens(vectors, 5, idx.tokens, cells=3, codes=True), exact)
    monkeypatch.setattr("pyserini_ckd.teacher.centroid_index.PRF_RESCORE", 2)
    rescored = ivf.nearest_tokens(vectors, 5, idx.tokens, cells=3, codes=True)
    assert np.mean([len(set(a.tolist()) & set(b.tolist())) / 5 for a, b in zip(exact, rescored)]) >= agree
    # an empty list probed beside others (a centre k-means left without tokens): list 0's rows given to list 1
    ivf.offsets = ivf.offsets.copy()
    ivf.offsets[1] = ivf.offsets[0]
    monkeypatch.setattr("pyserini_ckd.teacher.centroid_index.PRF_RESCORE", 10 ** 4)
    every = len(ivf.offsets) - 1
    assert torch.equal(ivf.nearest_tokens(vectors, 5, idx.tokens, cells=every, codes=True),
                       ivf.nearest_tokens(vectors, 5, idx.tokens, cells=every))


def test_the_sized_rule_turns_the_decompression_stage_on(tmp_path, monkeypatch):
    """Past DECOMPRESS_FROM_NDOCS (lowered here to fit a small index) a search without ndecompress ranks ndocs / 4
    documents from residual codes, built on first use, and scores MIN_NEXACT of them exactly; ndecompress 0 keeps
    the stage off and builds no codes."""
    import pyserini_ckd.teacher.centroid_index as centroid_index
    from pyserini_ckd.teacher.centroid_index import Approximate, build_centroid_index
    from pyserini_ckd.teacher.residuals import Residuals

    idx = _synthetic_index(tmp_path / "ix", [20] * 400, dim=32, similarity="cosine")
    build_centroid_index(idx, centroids=64)
    monkeypatch.setattr(centroid_index, "DECOMPRESS_FROM_NDOCS", 200)
    monkeypatch.setattr(centroid_index, "MIN_NEXACT", 10)
    q = torch.from_numpy(np.asarray(idx.tokens[idx.offsets[7]:idx.offsets[7] + 8], dtype=np.float32))
    off = Approximate(ncells=4, ndocs=200, ndecompress=0)
    assert [len(s) for s in idx.centroid_index().stages(q, None, off)] == [200, 50, 50]  # nexact = ndocs / 4
    assert idx.search(q, 1, approximate=off)[0][0] == 7 and not Residuals.exists(tmp_path / "ix" / "ivf")
    sized = Approximate(ncells=4, ndocs=200)
    assert sized.sized(idx.num_docs).ndecompress == 50
    assert idx.search(q, 1, approximate=sized)[0][0] == 7 and Residuals.exists(tmp_path / "ix" / "ivf")
    assert [len(s) for s in idx.centroid_index().stages(q, None, sized)] == [200, 50, 10]
