"""The late-interaction teacher: MaxSim math, encoder conventions, the token index, ColBERT-PRF."""

import numpy as np
import pytest
import torch

from pyserini_ckd.data.records import Document
from pyserini_ckd.teacher.late_interaction import LateInteractionEncoder
from pyserini_ckd.teacher.maxsim import maxsim_pairwise
from pyserini_ckd.teacher.prf import PRFConfig, colbert_prf, kmeans, rocchio, RocchioConfig, seed_positions
from pyserini_ckd.teacher.token_index import build_token_index

from conftest import DOCS, make_tiny_teacher


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    return make_tiny_teacher(tmp_path_factory.mktemp("teacher") / "li")


@pytest.fixture(scope="module")
def index(teacher_dir, tmp_path_factory):
    teacher = LateInteractionEncoder.load(teacher_dir)
    docs = [Document(d, t, x) for d, t, x in DOCS]
    return teacher, build_token_index(teacher, docs, tmp_path_factory.mktemp("idx") / "tokens", batch_size=3)


def test_maxsim_against_a_loop():
    torch.manual_seed(0)
    q = torch.nn.functional.normalize(torch.randn(2, 3, 4), dim=-1)
    d = torch.nn.functional.normalize(torch.randn(5, 6, 4), dim=-1)
    mask = torch.ones(5, 6, dtype=torch.bool)
    mask[1, 3:] = False
    cos = maxsim_pairwise(q, d, mask, "cosine")
    l2 = maxsim_pairwise(q, d, mask, "l2")
    for i in range(2):
        for j in range(5):
            keep = d[j][mask[j]]
            expected = sum(max(float(qi @ dj) for dj in keep) for qi in q[i])
            assert cos[i, j].item() == pytest.approx(expected, abs=1e-5)
            expected_l2 = sum(max(-float(((qi - dj) ** 2).sum()) for dj in keep) for qi in q[i])
            assert l2[i, j].item() == pytest.approx(expected_l2, abs=1e-5)
    torch.testing.assert_close(l2, 2 * cos - 2 * 3)  # unit vectors: -||q-d||^2 = 2 q.d - 2


def test_encoder_conventions(teacher_dir):
    t = LateInteractionEncoder.load(teacher_dir)
    tok = t.tokenizer
    q = t.query_ids(["aspirin heart"])[0]
    assert len(q) == 8 and q[0] == tok.cls_token_id and q[1] == tok.convert_tokens_to_ids("[unused0]")
    assert q[-1] == tok.mask_token_id  # padded with [MASK]
    d = t.doc_ids(["Aspirin, and the heart."])[0]
    assert d[1] == tok.convert_tokens_to_ids("[unused1]") and d[-1] == tok.sep_token_id
    input_ids, mask = t.pad([d])
    keep = t.doc_token_mask(input_ids, mask)[0]
    kept = tok.convert_ids_to_tokens(input_ids[0][keep].tolist())
    assert "," not in kept and "." not in kept and "aspirin" in kept
    emb = t.encode_queries(["aspirin"])
    assert emb.shape == (1, 8, 16)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(1, 8))


def test_token_index_is_exact(index):
    teacher, idx = index
    assert idx.num_docs == 8 and idx.docids[0] == "d1"
    texts = [f"{t} {x}" for _, t, x in DOCS]
    direct = teacher.score(["blood pressure", "vitamin d fractures"], texts)
    for row, query in enumerate(["blood pressure", "vitamin d fractures"]):
        q = teacher.encode_queries([query])[0]
        np.testing.assert_allclose(idx.maxsim_all(q).numpy(), direct[row].numpy(), atol=2e-2)  # fp16 storage
        np.testing.assert_allclose(idx.maxsim_docs(q, range(8)).numpy(), idx.maxsim_all(q).numpy(), atol=1e-4)
        top = idx.search(q, 3)
        assert [i for i, _ in top] == list(np.argsort(-idx.maxsim_all(q).numpy(), kind="stable")[:3])
    vocab = teacher.tokenizer.get_vocab()
    assert idx.df[vocab["pressure"]] == 3 and idx.df[vocab["aspirin"]] == 1
    assert idx.idf(vocab["aspirin"]) == pytest.approx(np.log(9 / 2))


def test_token_index_build_keeps_the_corpus_order(index, tmp_path, monkeypatch):
    """The build encodes each window of documents in length-sorted batches and writes them in corpus order:
    each document's rows are its own encoding, whatever the window."""
    import pyserini_ckd.teacher.token_index as token_index

    teacher, idx = index
    docs = [Document(d, t, x) for d, t, x in DOCS]
    monkeypatch.setattr(token_index, "BUILD_WINDOW_BATCHES", 1)  # windows of 2 documents, then of 16 below
    small = build_token_index(teacher, docs, tmp_path / "small", batch_size=2)
    dtype = token_index._autocast_dtype("auto", teacher.device, "passage")
    assert small.docids == idx.docids
    for i, doc in enumerate(docs):
        with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):  # as the build
            emb, keep, _ = teacher.encode_docs([doc.contents])
        alone = emb[0][keep[0]]
        # fp16 storage, and under bf16 another batch's padding rounds a little differently
        tol = 2e-3 if dtype is None else 1e-2
        torch.testing.assert_close(small.doc_tokens(i).float(), alone, atol=tol, rtol=0)
        torch.testing.assert_close(idx.doc_tokens(i).float(), small.doc_tokens(i).float(), atol=tol, rtol=0)


def test_kmeans_and_seeds():
    x = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    c = kmeans(x, x[[0, 2]])
    torch.testing.assert_close(c, torch.tensor([[0.05, 0.0], [5.05, 5.0]]))
    # 3 seeds evenly over doc 0 (positions 0, 1.5 -> 2, 3), 2 over doc 1 (its ends: 4 + 0, 4 + 9), none in the empty doc
    assert seed_positions([4, 10, 0], 5) == [0, 2, 3, 4, 13]
    q, fb = np.array([1.0, 0.0]), np.array([[0.0, 1.0], [0.0, 3.0]])
    np.testing.assert_allclose(rocchio(q, fb, RocchioConfig(alpha=1.0, beta=0.5)), [1.0, 1.0])


def test_colbert_prf_expansion(index):
    teacher, idx = index
    config = PRFConfig(fb_docs=3, fb_clusters=6, fb_k=4)
    exp = colbert_prf(idx, teacher.tokenizer, [0, 5, 6], config, teacher.special_ids)
    assert 0 < len(exp.tokens) <= 4 and exp.vectors.shape == (len(exp.tokens), 16)
    assert not set(exp.token_ids) & teacher.special_ids
    assert exp.weights.tolist() == sorted(exp.weights.tolist(), reverse=True)
    for token_id, w in zip(exp.token_ids, exp.weights.tolist()):
        assert w == pytest.approx(idx.idf(token_id))
    again = colbert_prf(idx, teacher.tokenizer, [0, 5, 6], config, teacher.special_ids)
    assert again.token_ids == exp.token_ids and torch.equal(again.vectors, exp.vectors)


def test_approximate_first_stage_finds_the_exact_ranking(index, monkeypatch):
    """Probing every centre and scoring every document exactly is the exact search; fewer documents give
    a subset in index order; PRF's nearest tokens through the lists equal the exact ones with every list."""
    from pyserini_ckd.teacher import centroid_index
    from pyserini_ckd.teacher.centroid_index import Approximate, build_centroid_index

    teacher, idx = index
    ivf = build_centroid_index(idx, centroids=4)
    assert (idx.path / "ivf" / "ivf.json").is_file() and ivf.offsets[-1] == idx.tokens.shape[0]
    assert sorted(np.asarray(ivf.tokens).tolist()) == list(range(idx.tokens.shape[0]))  # every row in one list
    assert (np.asarray(ivf.docs) == np.searchsorted(idx.offsets, np.asarray(ivf.tokens), side="right") - 1).all()
    everything = Approximate(ncells=4, ndocs=idx.num_docs, nexact=idx.num_docs)
    for query in ["blood pressure", "vitamin d fractures", "coffee heart"]:
        q = teacher.encode_queries([query])[0]
        exact = idx.search(q, 3)
        approx = idx.search(q, 3, approximate=everything)
        assert [i for i, _ in approx] == [i for i, _ in exact]
        np.testing.assert_allclose([s for _, s in approx], [s for _, s in exact], atol=1e-3)
        few = ivf.candidates(q, None, Approximate(ncells=1, ndocs=6, nexact=2))
        assert 0 < len(few) <= 2 and list(few) == sorted(few)
        for ncells, ndocs in ((1, 3), (2, 5), (4, idx.num_docs)):  # the pruned interaction against A(d) by a loop
            a_d = _pruned_scores(ivf, ivf.scores(q), ncells)
            hit = np.flatnonzero(a_d > 0)
            expected = np.sort(hit[np.lexsort((hit, -a_d[hit]))][:ndocs])
            np.testing.assert_array_equal(ivf._pruned(ivf.scores(q), None, Approximate(ncells=ncells, ndocs=ndocs)), expected)
        kept = np.arange(idx.num_docs)  # the full interaction: a loop over documents, one gather, chunks of 3
        s = ivf.scores(q)
        whole = ivf._full(s, None, kept)
        codes = np.asarray(ivf.codes, dtype=np.int64)
        loop = [s[:, codes[idx.offsets[d]:idx.offsets[d + 1]]].max(1).values.double().sum().item()
                if idx.offsets[d + 1] > idx.offsets[d] else 0.0 for d in kept]
        np.testing.assert_allclose(whole, loop, rtol=1e-12)
        with monkeypatch.context() as m:
            m.setattr(centroid_index, "SCORE_CHUNK", 3)
            np.testing.assert_array_equal(ivf._full(s, None, kept), whole)
        assert torch.equal(ivf.nearest_tokens(q, 5, idx.tokens, cells=4), idx.nearest_tokens(q, 5))
    from pyserini_ckd.teacher.token_index import TokenIndex

    streamed = TokenIndex.load(idx.path)
    streamed.in_memory_tokens = 0  # streamed: PRF's look-up goes through the lists, with the cells asked for
    for cells in (1, 4):
        assert torch.equal(streamed.nearest_tokens(q, 5, cells), ivf.nearest_tokens(q, 5, idx.tokens, cells=cells))
    assert [set(r) for r in streamed.nearest_tokens_exact(q, 5).tolist()] == [set(r) for r in idx.nearest_tokens(q, 5).tolist()]


def test_the_first_stage_is_approximate_past_a_size(index, monkeypatch):
    import pyserini_ckd.teacher.token_index as token_index
    from pyserini_ckd.teacher.centroid_index import Approximate

    _, idx = index
    assert idx.first_stage("auto") is None and idx.first_stage("exact") is None
    assert idx.first_stage("approximate", Approximate(ndocs=5, nexact=2)) == Approximate(ndocs=5, nexact=2, ndecompress=0)
    with pytest.raises(ValueError, match="first stage must be one of"):
        idx.first_stage("fast")
    monkeypatch.setattr(token_index, "APPROX_FROM_TOKENS", idx.tokens.shape[0] - 1)
    assert idx.first_stage("auto") == Approximate(ndocs=4096, nexact=1024, ndecompress=0)  # sized: the floors here
    # on a GPU, auto stays exact while the index is held in memory there (first_stage touches no device)
    limit = idx.in_memory_tokens
    try:
        idx.device = "cuda"
        assert idx.first_stage("auto") is None
        idx.in_memory_tokens = 0  # streamed: approximate again
        assert idx.first_stage("auto") == Approximate(ndocs=4096, nexact=1024, ndecompress=0)
    finally:
        idx.device, idx.in_memory_tokens = "cpu", limit


def test_a_gpu_holds_what_half_its_memory_holds(monkeypatch):
    """device_in_memory_tokens: none on a CPU; on a GPU, half its memory over the bytes a token takes in memory
    (889 measured at dim 128: float16 flat, bf16 flat and padded blocks, norms)."""
    from types import SimpleNamespace

    from pyserini_ckd.teacher.token_index import device_in_memory_tokens, in_memory_bytes_per_token

    assert device_in_memory_tokens("cpu", 128) is None
    assert in_memory_bytes_per_token(128) == pytest.approx(889, rel=0.01)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: SimpleNamespace(total_memory=141e9))
    assert device_in_memory_tokens("cuda", 128) == int(0.5 * 141e9 / in_memory_bytes_per_token(128))
    assert 75e6 < device_in_memory_tokens("cuda:0", 128) < 85e6


def _pruned_scores(ivf, s, ncells):
    """A(d) = sum_i max(0, max over q_i's probed centres c holding a token of d of s(q_i, c) - f_i), by a loop."""
    a_d = np.zeros(ivf.num_docs)
    for i in range(s.shape[0]):
        order = torch.argsort(s[i], descending=True, stable=True).tolist()
        floor = s[i, order[ncells]] if ncells < len(order) else s[i, order[-1]] - 1.0
        best = np.zeros(ivf.num_docs)
        for c in order[:ncells]:
            for d in ivf._list(c, ivf.docs):
                best[d] = max(best[d], float(s[i, c] - floor))
        a_d += best
    return a_d


def test_approximate_settings_grow_with_the_collection():
    """ndocs = max(4096, 2^round(log2(N / 64))), nexact = max(1024, ndocs / 4), 32 centres probed; from ndocs 32,768
    on (about 1.5 M passages) the decompression stage keeps min(ndocs / 4, 16,384) and nexact is 1,024; given values
    are kept, 0 is no stage, and a sized stage no wider than a given nexact is dropped."""
    from pyserini_ckd.teacher.centroid_index import Approximate

    sized = {n: Approximate().sized(n) for n in (10, 10_000, 100_000, 1_000_000, 2_000_000, 4_000_000, 8_800_000)}
    assert [(a.ndocs, a.nexact, a.ndecompress) for a in sized.values()] == [
        (4096, 1024, 0), (4096, 1024, 0), (4096, 1024, 0), (16384, 4096, 0),
        (32768, 1024, 8192), (65536, 1024, 16384), (131072, 1024, 16384)]
    assert {a.ncells for a in sized.values()} == {32}
    assert Approximate(ndocs=100).sized(1_000_000) == Approximate(ndocs=100, nexact=1024, ndecompress=0)
    assert Approximate(nexact=7).sized(1_000_000) == Approximate(ndocs=16384, nexact=7, ndecompress=0)
    assert Approximate(ndecompress=0).sized(8_800_000) == Approximate(ndocs=131072, nexact=32768, ndecompress=0)
    assert Approximate(nexact=16384).sized(8_800_000).ndecompress == 0  # the sized 16,384 would rank no more
    assert Approximate(nexact=4096).sized(8_800_000).ndecompress == 16384
    assert Approximate(ndecompress=4096).sized(1_000_000) == Approximate(ndocs=16384, nexact=1024, ndecompress=4096)
    # the Python API rejects what the command line's types reject (a negative ndecompress ran no stage, silently)
    from pyserini_ckd.errors import ConfigError

    for bad in ({"ndecompress": -1}, {"ndocs": 0}, {"nexact": -5}, {"ncells": 0}, {"prf_cells": 0}, {"residual_bits": 0}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            Approximate(**bad)


@pytest.mark.parametrize("similarity", ["l2", "cosine"])
def test_blocked_maxsim_equals_a_loop(tmp_path, similarity):
    """Length-sorted, padded blocks (here many small ones) give each document's exact MaxSim; a document
    without tokens scores 0; expansion weights scale their query vector's term."""
    from pyserini_ckd.teacher.token_index import TokenIndex

    torch.manual_seed(0)
    lengths = [3, 0, 7, 1, 12, 5, 5, 2]
    tokens = torch.nn.functional.normalize(torch.randn(sum(lengths), 4), dim=-1).half()
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    idx = TokenIndex(tmp_path, tokens.numpy(), offsets, np.zeros(sum(lengths), np.int32), np.zeros(5, np.int32),
                     [f"d{i}" for i in range(len(lengths))], similarity)
    blocks = idx._blocks(block_slots=12)
    assert len(blocks) > 2 and sorted(int(d) for docs, _ in blocks for d in docs) == list(range(len(lengths)))
    q = torch.randn(3, 4)  # unnormalised, like PRF centroids
    weights = torch.tensor([1.0, 0.5, 2.0])
    got = idx.maxsim_all(q, weights)
    for i, n in enumerate(lengths):
        d = tokens[offsets[i]:offsets[i + 1]].float()
        if n == 0:
            assert got[i].item() == 0.0
            continue
        sims = q @ d.T if similarity == "cosine" else -torch.cdist(q, d) ** 2
        assert got[i].item() == pytest.approx(float((sims.max(-1).values * weights).sum()), abs=1e-4)
    torch.testing.assert_close(got[[0, 2, 3]], idx.maxsim_docs(q, [0, 2, 3], weights), atol=1e-4, rtol=1e-5)


def _synthetic_index(path, lengths, dim=16, similarity="l2", seed=0):
    """A token index written through the streaming writer from random unit vectors (no model)."""
    from pyserini_ckd.teacher.token_index import TokenIndexWriter

    rng = np.random.default_rng(seed)
    writer = TokenIndexWriter(path, dim, vocab=50)
    for i, n in enumerate(lengths):
        v = rng.standard_normal((n, dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True) + 1e-9
        writer.add(f"d{i}", v, rng.integers(0, 50, n))
    return writer.close({"teacher": "synthetic", "similarity": similarity})


@pytest.mark.parametrize("similarity", ["l2", "cosine"])
def test_streamed_search_equals_the_in_memory_search(tmp_path, similarity):
    """Past in_memory_tokens the index reads its vectors from disk block by block: the same scores, ranking and
    nearest tokens as the in-memory blocks; the writer keeps ids and counts straight."""
    lengths = [3, 0, 7, 1, 12, 5, 5, 2] * 30
    idx = _synthetic_index(tmp_path / "ix", lengths, similarity=similarity)
    assert idx.num_docs == len(lengths) and idx.tokens.shape[0] == sum(lengths) == len(idx.token_ids)
    assert int(idx.df.sum()) == sum(len(set(idx.token_ids[idx.offsets[i]:idx.offsets[i + 1]].tolist())) for i in range(idx.num_docs))
    q = torch.randn(4, 16)
    weights = torch.tensor([1.0, 0.5, 2.0, 1.0])
    memory = idx.maxsim_all(q, weights)
    streamed = type(idx).load(idx.path)
    streamed.in_memory_tokens = 0
    assert streamed.streamed and not idx.streamed
    np.testing.assert_allclose(streamed.maxsim_all(q, weights).numpy(), memory.numpy(), rtol=1e-5, atol=1e-4)
    assert [d for d, _ in streamed.search(q, 20, weights)] == [d for d, _ in idx.search(q, 20, weights)]
    assert memory[1] == 0.0  # a document without tokens
    assert torch.equal(streamed.nearest_tokens(q, 7), idx.nearest_tokens(q, 7))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
@pytest.mark.parametrize("similarity", ["l2", "cosine"])
def test_batched_scan_only_picks_what_is_scored_exactly(tmp_path, monkeypatch, dtype, similarity):
    """search_many's one scan of every document for several queries (in bf16 where the CPU has it) bounds what
    is scored exactly: each ranking and its scores are the exact scan's (maxsim_all), with and without
    expansion weights, over row groups and small products; nearest_tokens_many finds each vector's exact k
    nearest tokens; one query or set alone gets what it gets among many."""
    import pyserini_ckd.teacher.token_index as ti

    monkeypatch.setattr(ti, "scan_dtype", lambda device: dtype)
    monkeypatch.setattr(ti, "SCAN_ROWS", 5)  # several row groups, one padded to MIN_ROWS
    monkeypatch.setattr(ti, "SCAN_SLOTS", 24)  # several products a block
    monkeypatch.setattr(ti, "NEAR_SLOTS", 2 * ti.NEAR_BLOCK)  # several nearest-token products
    monkeypatch.setattr(ti, "NEAR_GROUP", 3)  # vectors scored exactly in groups, one smaller
    idx = _synthetic_index(tmp_path / "ix", [3, 0, 7, 1, 12, 5, 5, 2] * 40, similarity=similarity)
    torch.manual_seed(0)
    queries = [torch.nn.functional.normalize(torch.randn(m, 16), dim=-1) for m in (4, 9, 1)]
    weights = [None, torch.rand(9) + 0.5, None]
    found = idx.search_many(queries, 25, weights)
    for q, w, got in zip(queries, weights, found):
        exact = idx.maxsim_all(q, w).numpy()
        order = np.lexsort((np.arange(idx.num_docs), -exact))[:25]
        assert [d for d, _ in got] == order.tolist()
        np.testing.assert_allclose([s for _, s in got], exact[order], rtol=1e-5, atol=1e-4)
    assert idx.search(queries[1], 25, weights[1]) == found[1]
    dense = torch.from_numpy(np.asarray(idx.tokens, dtype=np.float32))
    sets = [torch.randn(5, 16), torch.randn(3, 16)]
    near = idx.nearest_tokens_many(sets, 7)
    for v, got in zip(sets, near):
        expected = (v @ dense.T).topk(7, dim=-1).indices
        assert [set(a) for a in got.tolist()] == [set(b) for b in expected.tolist()]
    assert torch.equal(idx.nearest_tokens(sets[1], 7), near[1])
    # near-ties that bf16 cannot order: 300 copies of one document and one token, moved by 10^-2 (under L2 their
    # scores, -||q - t||^2, differ by 4e-6 or more at the top, well above float32's rounding of sums of terms near 1,
    # 2.4e-7; at 10^-3 they differed by 1e-8 there, so float32 itself could not order them), against every document
    # scored in float64
    from pyserini_ckd.teacher.token_index import TokenIndexWriter

    rng = np.random.default_rng(1)
    base = rng.standard_normal((6, 16)).astype(np.float32)
    writer = TokenIndexWriter(tmp_path / "ties", 16, vocab=50)
    for i in range(300):
        v = base + 1e-2 * rng.standard_normal(base.shape).astype(np.float32)
        writer.add(f"d{i}", v / np.linalg.norm(v, axis=1, keepdims=True), np.zeros(6, dtype=np.int64))
    ties = writer.close({"teacher": "synthetic", "similarity": similarity})
    q = torch.from_numpy(base[:3] / np.linalg.norm(base[:3], axis=1, keepdims=True))
    exact = ties.maxsim_docs(q, range(300)).numpy()
    expected = np.lexsort((np.arange(300), -exact))[:5].tolist()
    scanned = ties.scan([q], [None])[0][0].numpy()
    if dtype == torch.bfloat16:  # the scan alone gets them wrong
        assert np.argsort(-scanned, kind="stable")[:5].tolist() != expected
    assert [d for d, _ in ties.search(q, 5)] == expected
    dense = torch.from_numpy(np.asarray(ties.tokens, dtype=np.float32))
    assert set(ties.nearest_tokens(q, 5)[0].tolist()) == set((q[0] @ dense.T).topk(5).indices.tolist())


@pytest.mark.parametrize("similarity", ["l2", "cosine"])
def test_centroid_first_stage_recalls_the_planted_documents(tmp_path, similarity):
    """Centroid interaction over 128 centres, 2 probed a query vector, 40 documents through the full interaction, 10 scored exactly: each query
    built from one document's tokens finds that document among the candidates, ranked first; a streamed
    index's PRF look-up goes through the lists."""
    from pyserini_ckd.teacher.centroid_index import Approximate, build_centroid_index

    idx = _synthetic_index(tmp_path / "ix", [20] * 400, dim=32, similarity=similarity)
    ivf = build_centroid_index(idx, centroids=128)
    assert ivf.meta["centroids"] == 128 and ivf.offsets[-1] == idx.tokens.shape[0]
    rng = np.random.default_rng(1)
    for target in rng.choice(idx.num_docs, 10, replace=False):
        rows = np.asarray(idx.tokens[idx.offsets[target]:idx.offsets[target] + 8], dtype=np.float32)
        q = torch.from_numpy(rows + 0.05 * rng.standard_normal(rows.shape).astype(np.float32))
        settings = Approximate(ncells=2, ndocs=40, nexact=10)
        assert int(target) in ivf.candidates(q, None, settings)
        assert idx.search(q, 1, approximate=settings)[0][0] == int(target)
    idx.in_memory_tokens = 0
    near = idx.nearest_tokens(torch.from_numpy(rows), 3)
    assert near.shape == (8, 3) and (near >= 0).all()


@pytest.mark.parametrize("similarity", ["l2", "cosine"])
def test_centroid_interaction_is_the_maxsim_of_the_centre_replaced_tokens(tmp_path, similarity):
    """F(d) = sum_i w_i max_t s(q_i, centre(t)), and a centre's score is the mean of its tokens' scores: the
    centres are the means of the tokens assigned to them (and for L2 their mean squared norms)."""
    from pyserini_ckd.teacher.centroid_index import build_centroid_index

    idx = _synthetic_index(tmp_path / "ix", [3, 0, 7, 1, 12, 5] * 20, similarity=similarity)
    ivf = build_centroid_index(idx, centroids=8)
    tokens = idx.read_rows(0, idx.tokens.shape[0]).astype(np.float64)
    codes = np.asarray(ivf.codes).astype(np.int64)
    q = torch.randn(3, 16)
    s = ivf.scores(q).double().numpy()
    for c in range(8):
        own = tokens[codes == c]
        if len(own):
            direct = 2 * q.double().numpy() @ own.T - (own ** 2).sum(1) - (q.double().numpy() ** 2).sum(1)[:, None] \
                if similarity == "l2" else q.double().numpy() @ own.T
            np.testing.assert_allclose(s[:, c], direct.mean(1), rtol=1e-4, atol=1e-4)
    weights = torch.tensor([1.0, 0.5, 2.0])
    docs = np.arange(idx.num_docs)
    full = ivf._full(ivf.scores(q), weights, docs)
    for d in docs[:12]:
        own = codes[idx.offsets[d]:idx.offsets[d + 1]]
        want = (s[:, own].max(1) * weights.numpy()).sum() if len(own) else 0.0
        assert full[d] == pytest.approx(want, rel=1e-5, abs=1e-5)


def test_candidates_vectors_are_advised_in_merged_page_ranges(tmp_path):
    """will_need asks the kernel for each candidate's pages, touching ranges merged into one; the scores read
    through the map after it are those of the exact scan."""
    from pyserini_ckd.teacher.token_index import TokenIndex, TokenIndexWriter, will_need, will_need_rows

    rng = np.random.default_rng(0)
    writer = TokenIndexWriter(tmp_path / "ix", 128, 100)
    lengths = [40] * 200 + [0, 3]  # 256 bytes a row: a document spans 2-3 pages, the two last share one
    for i, n in enumerate(lengths):
        writer.add(f"d{i}", rng.standard_normal((n, 128)).astype(np.float32), rng.integers(0, 100, n))
    idx = writer.close({"teacher": "t", "similarity": "cosine", "corpus_fingerprint": "", "teacher_fingerprint": ""})
    idx = TokenIndex.load(tmp_path / "ix")
    assert will_need(idx.tokens, idx.offsets, np.arange(len(lengths))) == 1  # the whole file, one range
    assert will_need(idx.tokens, idx.offsets, np.array([150, 3, 4, 150])) == 2  # 3 and 4 touch; 150 apart
    assert will_need(idx.tokens, idx.offsets, np.array([200])) == 0  # no tokens, nothing to read
    assert will_need(np.asarray(idx.tokens).copy(), idx.offsets, np.arange(5)) == 0  # not a map
    rows = np.array([0, 1, 2, 5000, 5001])  # PRF's probed rows: 16 a page, so two ranges
    assert will_need_rows(idx.tokens, rows, rows + 1) == 2
    q = torch.randn(4, 128)
    docs = rng.permutation(len(lengths))[:60]
    torch.testing.assert_close(idx.maxsim_docs(q, docs, dtype=torch.float32, chunk=7), idx.maxsim_all(q)[docs], atol=1e-4, rtol=1e-5)


def test_segment_max_equals_torch_segment_reduce():
    """segment_max, the full interaction's and decompression stage's per-document maximum, is torch.segment_reduce's
    max, ties and negative values included, in float32 and bf16."""
    from pyserini_ckd.teacher.centroid_index import segment_max

    g = torch.Generator().manual_seed(0)
    lengths = np.array([1, 4, 2, 7, 1, 3])
    values = torch.randint(-3, 3, (int(lengths.sum()), 5), generator=g).float()  # many ties
    for dtype in (torch.float32, torch.bfloat16):
        v = values.to(dtype)
        assert torch.equal(segment_max(v, lengths), torch.segment_reduce(v, "max", lengths=torch.from_numpy(lengths), axis=0))


def test_centres_past_the_flat_kmeans_limit():
    """default_centroids: 4 sqrt(T), capped at 16,384 (1 M passages). Past FLAT_KMEANS_UP_TO (lowered here) k-means
    trains in two levels: exactly k distinct centres, each point about as near its centre as with flat k-means."""
    import faiss

    from pyserini_ckd.teacher import centroid_index
    from pyserini_ckd.teacher.centroid_index import default_centroids, train_centres

    assert [default_centroids(t) for t in (680_000, 6_730_000, 67_412_054, 134_800_000, 600_000_000, 2 * 10 ** 9)] == \
        [4096, 8192, 16384, 16384, 16384, 16384]
    rng = np.random.default_rng(0)
    points = (rng.standard_normal((40, 8)).repeat(100, axis=0) + 0.3 * rng.standard_normal((4000, 8))).astype(np.float32)
    flat = train_centres(points, 64, 10, 0, False)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(centroid_index, "FLAT_KMEANS_UP_TO", 16)
        two = train_centres(points, 64, 10, 0, False)
    assert two.shape == (64, 8) and len(np.unique(two, axis=0)) == 64

    def spread(centres):
        index = faiss.IndexFlatL2(8)
        index.add(centres)
        return float(index.search(points, 1)[0].mean())

    assert spread(two) <= 1.5 * spread(flat)


def test_centre_ids_past_65536_centres_are_32_bit(tmp_path, monkeypatch):
    """Past U16_CODES_UP_TO centres (lowered here) the centre ids go to codes.u32: the same lists, codes and searches
    as codes.u16."""
    import shutil

    from pyserini_ckd.teacher import centroid_index
    from pyserini_ckd.teacher.centroid_index import Approximate, build_centroid_index
    from pyserini_ckd.teacher.token_index import TokenIndex
    from test_residuals import _synthetic_index

    idx = _synthetic_index(tmp_path / "a", [20] * 300, dim=16, similarity="cosine")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    narrow = build_centroid_index(idx, centroids=64)
    monkeypatch.setattr(centroid_index, "U16_CODES_UP_TO", 32)
    other = TokenIndex.load(tmp_path / "b")
    wide = build_centroid_index(other, centroids=64)
    assert (tmp_path / "b" / "ivf" / "codes.u32").is_file() and not (tmp_path / "b" / "ivf" / "codes.u16").exists()
    assert wide.codes.dtype == np.uint32 and np.array_equal(np.asarray(wide.codes), np.asarray(narrow.codes))
    q = torch.from_numpy(np.asarray(idx.tokens[idx.offsets[5]:idx.offsets[5] + 6], dtype=np.float32))
    settings = Approximate(ncells=4, ndocs=100, nexact=20)
    assert all(np.array_equal(a, b) for a, b in zip(narrow.stages(q, None, settings), wide.stages(q, None, settings)))
