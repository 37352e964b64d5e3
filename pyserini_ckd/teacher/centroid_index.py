"""The approximate first stage over a teacher's token index: centroids, inverted lists, centroid interaction.

PLAID's candidate generation and centroid interaction (Santhanam et al., 2022), with exact MaxSim on the
survivors, read from disk, and optionally PLAID's residual decompression in between (``ndecompress``,
:mod:`~pyserini_ckd.teacher.residuals`). Built once into ``INDEX/ivf/`` (atomically):

- ``centroids.npy`` (C, dim) float32: the mean mu_c of the token vectors assigned to each k-means centre
  (k-means, spherical for cosine teachers, trained for 10 iterations on a seeded sample of about 32
  vectors a centre, windows of 256 consecutive vectors; in two levels past 16,384 centres: :func:`train_centres`),
  and ``sq_norms.npy`` (C,) their mean squared
  norm: a centre's score below is then the mean of its tokens' scores, not the score of a point that
  tight and loose clusters share alike (on SciFact's teacher index the full interaction's top 256 holds
  0.81 of the exact top 100 with the means, 0.72 with the k-means centres);
- ``offsets.npy`` (C + 1,) int64: centre c's list is rows ``offsets[c]:offsets[c + 1]`` of
- ``tokens.u32`` and ``docs.u32`` (T,) uint32: the token rows assigned to each centre and their documents,
  grouped by centre (memory-mapped, only the probed lists are read);
- ``codes.u16`` (T,) uint16: each token row's centre, in row order (10 bytes a token on disk in all;
  ``codes.u32`` past 65,536 centres);
- ``ivf.json``: C, T, the sample, iterations, how tokens were assigned (flat, or HNSW with its efSearch) and build seconds.

Every token vector goes to its nearest centre (a flat search up to 4,096 centres, else an HNSW graph of
the centres searched with efSearch 16), chunk by chunk from the memory-mapped vectors; the lists are written in two passes (count,
then place), so the build never holds more than one chunk and the (T,) centre ids.

**Search.** With s(q_i, c) the index's similarity (inner product, or -||q_i - c||^2 for L2 teachers)
between query vector i and centre c, P_i the ``ncells`` best centres of q_i and f_i the best score of a
centre outside P_i (one below the worst when every centre is probed), each document gets the approximate score

    A(d) = sum_i w_i * max(0, max_{c in P_i : d has a token in list c} s(q_i, c) - f_i)

(its MaxSim with every token replaced by its centre, over the probed centres only; a query vector whose
probed lists hold none of d's tokens counts at the floor f_i, about the most an unprobed token can score,
and sum_i w_i f_i, the same for every document, is dropped). The ``ndocs`` best documents by A (ties by index) then get the full centroid
interaction, each of their tokens replaced by its centre (``codes.u16``) and every centre counted,

    F(d) = sum_i w_i max_{t in d} s(q_i, centre(t)),

which keeps the soft matches that pruning drops, and the ``nexact`` best by F are scored exactly from
their vectors on disk (:meth:`TokenIndex.maxsim_docs`). With ``ndecompress`` (sized from ``ndocs`` 32,768 on,
about 1.5 M passages, or given), the full interaction keeps
``ndecompress`` documents instead, and their MaxSim from residual codes (each token mu_c + r_hat) picks the
``nexact`` scored exactly: fewer documents read from disk for the same recall. PRF's nearest tokens look in
the ``prf_cells`` best lists of each centroid and score those tokens exactly (or rank them from the residual
codes in list order, one contiguous read a list, and score only the best 16k exactly: the default).

Memory: the centres (C x dim x 4 bytes: 8 MB at C = 16,384 and 128 dimensions) and the lists' offsets;
the probed lists and the candidates' vectors are read from disk per query.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import torch

from ..atomic import atomic_output
from ..errors import ConfigError

MAX_CENTROIDS = 16384  # the default's cap (reached near 1 M passages): flat k-means of more trains for hours on a
# CPU; more can be asked for (centroids=), trained in two levels (train_centres), which is fast but quantises worse
# (mean cosine to the nearest centre 0.666 against 0.700 at 16,384 on the 1 M index), and at a fixed ncells more
# centres probe a smaller share of the tokens (docs/experiments/label-scale.md, the centres past 1 M)
FLAT_KMEANS_UP_TO = 16384  # centres beyond which k-means trains in two levels
U16_CODES_UP_TO = 65536  # centres whose ids fit codes.u16; more are written to codes.u32
FLAT_ASSIGN_UP_TO = 4096  # centres beyond which tokens are assigned through an HNSW graph of the centres
ASSIGN_EF_SEARCH = 16  # HNSW assignment: 0.98 of tokens reach their nearest centre, 3.5x faster than 64
SAMPLE_PER_CENTROID = 32
PRF_RESCORE = 16  # PRF from residual codes: the best 16k tokens by their codes are re-scored exactly from disk
# (on SciFact's real index 4k found 0.611 of the exact nearest tokens, 16k 0.615, as reading every probed vector)
PRF_FROM = ("codes", "vectors")  # what a streamed index's PRF ranks its probed tokens by (label --prf-from)
SCORE_CHUNK = 512  # documents the full interaction and the decompression stage score at once: their gathered
# rows (about 5 MB of centre scores, 20 MB of decoded residuals) stay in cache; on 131,072 documents of the 1 M
# index the full interaction took 0.33 s against 1.55 s with chunks of 8,192 and torch.segment_reduce
DECOMPRESS_READ = 8192  # documents whose residual codes are advised MADV_WILLNEED together (parallel reads)
APPROX_FROM_TOKENS = 2_000_000  # first stage "auto": approximate beyond this many token vectors (the token
# index's in-memory limit: below it the exact scan is held in memory and fast)
FIRST_STAGES = ("auto", "exact", "approximate")


def default_centroids(tokens: int) -> int:
    """2^round(log2(4 sqrt(T))) centres, at least 1 and at most :data:`MAX_CENTROIDS` (and T / 8)."""
    if tokens < 16:
        return 1
    c = 2 ** int(round(np.log2(4 * np.sqrt(tokens))))
    return int(max(1, min(MAX_CENTROIDS, c, tokens // 8)))


def train_centres(sample: np.ndarray, k: int, iterations: int, seed: int, spherical: bool) -> np.ndarray:
    """(k, dim) k-means centres of ``sample`` (faiss). Up to :data:`FLAT_KMEANS_UP_TO` centres flat; beyond, in two
    levels: 2^ceil(log2(sqrt(k))) coarse centres, then each coarse cell's points split into a share of the k
    centres proportional to its points (largest remainders; at least 1 a non-empty cell, at most its points), so
    each point is compared with sqrt(k)-ish centres instead of k."""
    import faiss

    dim = sample.shape[1]

    def flat(points: np.ndarray, n: int) -> np.ndarray:
        if n >= len(points):
            return np.ascontiguousarray(points[:n], dtype=np.float32)
        km = faiss.Kmeans(dim, n, niter=iterations, seed=seed, spherical=spherical, verbose=False,
                          max_points_per_centroid=max(SAMPLE_PER_CENTROID, 256))
        km.train(np.ascontiguousarray(points, dtype=np.float32))
        return np.ascontiguousarray(km.centroids, dtype=np.float32)

    if k <= FLAT_KMEANS_UP_TO or len(sample) <= k:
        return flat(sample, k)
    coarse = flat(sample, 2 ** int(np.ceil(np.log2(np.sqrt(k)))))
    index = faiss.IndexFlat(dim, faiss.METRIC_INNER_PRODUCT if spherical else faiss.METRIC_L2)
    index.add(coarse)
    cell = index.search(np.ascontiguousarray(sample, dtype=np.float32), 1)[1][:, 0]
    counts = np.bincount(cell, minlength=len(coarse))
    share = k * counts / counts.sum()
    quota = np.minimum(np.maximum(np.floor(share).astype(np.int64), (counts > 0).astype(np.int64)), counts)
    order = np.argsort(-(share - np.floor(share)), kind="stable")
    while quota.sum() < k:  # largest remainders first, where a cell has points to spare
        for j in order:
            if quota.sum() == k:
                break
            if quota[j] < counts[j]:
                quota[j] += 1
    while quota.sum() > k:  # the floors of 1 overshot: take from the largest quotas
        quota[np.argmax(quota)] -= 1
    members = np.argsort(cell, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return np.concatenate([flat(sample[members[bounds[j]:bounds[j + 1]]], int(quota[j]))
                           for j in range(len(coarse)) if quota[j] > 0])


MIN_NDOCS = 4096  # the sized defaults below (chosen on dev queries at 100 k and 1 M synthetic passages)
DOCS_PER_KEPT = 64
KEPT_PER_EXACT = 4
MIN_NEXACT = 1024
DECOMPRESS_FROM_NDOCS = 32768  # the sized rule's decompression stage, from this ndocs on (about 1.5 M passages):
# chosen on dev queries at 1 M synthetic passages, cold; at ndocs 32,768 / 65,536 / 131,072 it recalls within 0.007
# of ndocs / 4 scored exactly, 1.4-3.1x faster (with segment_max) and reading 2-4x less; at 16,384 it about breaks
# even, and stays off so that the 1 M defaults are the measured ones
MAX_NDECOMPRESS = 16384


def codes_dtype(centroids: int):
    """The dtype of each token's centre id: uint16 up to :data:`U16_CODES_UP_TO` centres, else uint32."""
    return np.uint16 if centroids <= U16_CODES_UP_TO else np.uint32


def codes_name(centroids: int) -> str:
    return "codes.u16" if codes_dtype(centroids) == np.uint16 else "codes.u32"


def default_ndocs(num_docs: int) -> int:
    """Documents kept by the pruned centroid interaction for a collection of N documents:
    max(4096, 2^round(log2(N / 64))). With the centres capped (:data:`MAX_CENTROIDS`) each list holds more
    documents as N grows, and a fixed ``ndocs`` keeps a shrinking share of the exact top 100 (0.84 at 1 M
    with 8,192 and 16 probed centres); a constant share of the collection keeps it (4,096 at 100 k, 16,384
    at 1 M, with 32 probed centres)."""
    return max(MIN_NDOCS, 2 ** int(round(np.log2(max(num_docs, 1) / DOCS_PER_KEPT))))


def default_nexact(ndocs: int) -> int:
    """Documents scored exactly after the full centroid interaction: max(1024, ndocs / 4)."""
    return max(MIN_NEXACT, ndocs // KEPT_PER_EXACT)


def default_ndecompress(ndocs: int) -> int:
    """Documents the full centroid interaction keeps for MaxSim from residual codes: none (0) below
    :data:`DECOMPRESS_FROM_NDOCS`, else min(ndocs / 4, 16,384), of which :data:`MIN_NEXACT` are scored exactly."""
    return 0 if ndocs < DECOMPRESS_FROM_NDOCS else min(MAX_NDECOMPRESS, ndocs // KEPT_PER_EXACT)


def segment_max(values: torch.Tensor, lengths: np.ndarray) -> torch.Tensor:
    """(len(lengths), m) maxima of the consecutive runs of ``lengths`` rows of ``values`` (each length > 0): a
    scatter-max by owner, exact, and 3x faster on a CPU than ``torch.segment_reduce``."""
    owner = torch.repeat_interleave(torch.arange(len(lengths)), torch.from_numpy(lengths))
    out = torch.full((len(lengths), values.shape[1]), float("-inf"), dtype=values.dtype)
    return out.scatter_reduce_(0, owner[:, None].expand(-1, values.shape[1]), values, "amax")


def token_rows(token_offsets: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """The token rows of the given documents laid end to end (``offsets[d]:offsets[d + 1]`` for each d in
    turn), without a Python loop."""
    starts, lengths = token_offsets[docs], token_offsets[docs + 1] - token_offsets[docs]
    shift = starts - np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(shift, lengths)


@dataclass(frozen=True)
class Approximate:
    """Settings of the approximate first stage (PLAID's names where it has them): centres probed per query
    vector, documents kept by the pruned centroid interaction, documents re-scored exactly after the full
    one, and centres probed per PRF centroid for its nearest tokens. ``ndocs``, ``nexact`` and ``ndecompress``
    left None are sized to the collection by :meth:`sized` (:func:`default_ndocs`, :func:`default_nexact`,
    :func:`default_ndecompress`). ``ndecompress`` 0 is no such stage; above ``nexact`` it puts a stage between
    the full interaction and the exact scoring: the full interaction keeps ``ndecompress`` documents, and their
    MaxSim from residual codes (``INDEX/ivf/residuals/``, :mod:`~pyserini_ckd.teacher.residuals`, built on first
    use with ``residual_bits`` a dimension) picks the ``nexact`` scored exactly from disk (PLAID's decompression
    stage; sized, from about 1.5 M passages on). ``prf_codes`` (the default) ranks the
    tokens of PRF's probed lists from the same codes in list order and reads only the best :data:`PRF_RESCORE` k
    of them from disk, instead of every probed vector (a streamed index; the codes are built on first use)."""

    ncells: int = 32
    ndocs: Optional[int] = None
    nexact: Optional[int] = None
    prf_cells: int = 2
    ndecompress: Optional[int] = None
    residual_bits: int = 2
    prf_codes: bool = True

    def __post_init__(self) -> None:
        for name in ("ncells", "prf_cells", "residual_bits"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name, least in (("ndocs", 1), ("nexact", 1), ("ndecompress", 0)):
            if getattr(self, name) is not None and getattr(self, name) < least:
                raise ConfigError(f"{name} must be >= {least} or None (sized), got {getattr(self, name)}")

    def sized(self, num_docs: int) -> "Approximate":
        """These settings with ``ndocs``, ``ndecompress`` and ``nexact`` set for ``num_docs`` documents where they
        were None. With the decompression stage, ``nexact`` defaults to :data:`MIN_NEXACT` (the codes rank the
        documents well enough that it need not grow with N); a sized stage that would keep no more than a given
        ``nexact`` is dropped (0)."""
        ndocs = self.ndocs if self.ndocs is not None else default_ndocs(num_docs)
        ndecompress = self.ndecompress if self.ndecompress is not None else default_ndecompress(ndocs)
        nexact = self.nexact if self.nexact is not None else MIN_NEXACT if ndecompress else default_nexact(ndocs)
        if self.ndecompress is None and ndecompress <= nexact:
            ndecompress = 0
        return replace(self, ndocs=ndocs, nexact=nexact, ndecompress=ndecompress)


class CentroidIndex:
    """The ``ivf/`` folder of a token index (see the module doc), loaded with its lists memory-mapped."""

    def __init__(self, path: Path, token_offsets: np.ndarray, similarity: str) -> None:
        self.path = Path(path)
        self.meta = json.loads((self.path / "ivf.json").read_text())
        self.centroids = torch.from_numpy(np.load(self.path / "centroids.npy"))
        self.offsets = np.load(self.path / "offsets.npy")
        total = int(self.meta["tokens"])
        self.tokens = np.memmap(self.path / "tokens.u32", dtype=np.uint32, mode="r", shape=(total,))
        self.docs = np.memmap(self.path / "docs.u32", dtype=np.uint32, mode="r", shape=(total,))
        nlist = int(self.meta["centroids"])
        self.codes = np.memmap(self.path / codes_name(nlist), dtype=codes_dtype(nlist), mode="r", shape=(total,))
        self.token_offsets = token_offsets
        self.num_docs = len(token_offsets) - 1
        self.similarity = similarity
        self._t_sq = torch.from_numpy(np.load(self.path / "sq_norms.npy"))
        self._residuals = None

    @staticmethod
    def exists(index_path: Path) -> bool:
        return (Path(index_path) / "ivf" / "ivf.json").is_file()

    def scores(self, q: torch.Tensor) -> torch.Tensor:
        """(m, C) s(q_i, c), the mean similarity of q_i to the tokens of centre c: q_i . mu_c, or for an L2
        teacher 2 q_i . mu_c - ||q_i||^2 - mean ||t||^2 (= the mean of -||q_i - t||^2 over the centre's tokens)."""
        s = q.float() @ self.centroids.T
        if self.similarity == "l2":
            s = 2 * s - self._t_sq[None, :] - (q.float() * q.float()).sum(-1, keepdim=True)
        return s

    def _list(self, c: int, what: np.ndarray) -> np.ndarray:
        return np.asarray(what[self.offsets[c]:self.offsets[c + 1]], dtype=np.int64)

    def candidates(self, q: torch.Tensor, weights: Optional[torch.Tensor], settings: Approximate) -> np.ndarray:
        """Indices of the ``nexact`` documents of highest full centroid interaction among the ``ndocs`` of
        highest pruned one (module doc), ascending; with ``ndecompress``, the ``nexact`` best by MaxSim from
        residual codes among the ``ndecompress`` of highest full interaction."""
        return self.stages(q, weights, settings)[-1]

    def stages(self, q: torch.Tensor, weights: Optional[torch.Tensor],
               settings: Approximate) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every stage's survivors, ascending: the ``ndocs`` kept by the pruned interaction, those kept by the full
        one (``ndecompress``, or ``nexact`` without the decompression stage) and the ``nexact`` scored exactly
        (what :meth:`candidates` returns; the benchmark asks where recall is lost)."""
        settings = settings.sized(self.num_docs)
        s = self.scores(q)
        kept = self._pruned(s, weights, settings)
        decompress = bool(settings.ndecompress)
        width = max(settings.ndecompress, settings.nexact) if decompress else settings.nexact
        full_kept = kept
        if len(kept) > width:
            full = self._full(s, weights, kept)
            full_kept = np.sort(kept[np.lexsort((kept, -full))[:width]])
        if not decompress or len(full_kept) <= settings.nexact:
            return kept, full_kept, full_kept
        approx = self._decompressed(s, q, weights, full_kept)
        return kept, full_kept, np.sort(full_kept[np.lexsort((full_kept, -approx))[:settings.nexact]])

    def _full(self, s: torch.Tensor, weights: Optional[torch.Tensor], docs: np.ndarray) -> np.ndarray:
        """sum_i w_i max_{t in d} s(q_i, centre(t)) for each document (its MaxSim with every token replaced by
        its centre); 0 for a document without tokens. Each chunk of documents gathers its tokens' rows of the
        (C, m) score table and takes the maximum over each document's rows (exact, so the float32 table ranks
        as float64 would; the weighted sum is taken in float64, independent of threads and chunks)."""
        lengths = np.diff(self.token_offsets)[docs]
        out = np.zeros(len(docs))
        table = s.float().T.contiguous()
        w = weights.double() if weights is not None else torch.ones(s.shape[0], dtype=torch.float64)
        has = np.flatnonzero(lengths > 0)
        for lo in range(0, len(has), SCORE_CHUNK):  # chunks of documents: the (tokens, m) gather stays in cache
            part = has[lo:lo + SCORE_CHUNK]
            codes = torch.from_numpy(self.codes[token_rows(self.token_offsets, docs[part])].astype(np.int64))
            best = segment_max(table.index_select(0, codes), lengths[part])
            out[part] = (best.double() * w).sum(1).numpy()
        return out

    def _decompressed(self, s: torch.Tensor, q: torch.Tensor, weights: Optional[torch.Tensor],
                      docs: np.ndarray) -> np.ndarray:
        """D(d) = sum_i w_i max_{t in d} (s(q_i, c(t)) + q_i . r_hat(t)) for each document (MaxSim from the
        residual codes, :mod:`~pyserini_ckd.teacher.residuals`; for an L2 teacher 2 (q_i . mu_c(t) + q_i . r_hat(t))
        - ||q_i||^2 - ||t||^2 with the stored norms); 0 for a document without tokens. The codes are
        read in row order, each chunk's pages advised ``MADV_WILLNEED`` first; sums in float64 as :meth:`_full`."""
        from .token_index import scan_dtype, will_need

        residuals = self.built_residuals()
        dtype = scan_dtype("cpu")
        lengths = np.diff(self.token_offsets)[docs]
        out = np.zeros(len(docs))
        l2 = self.similarity == "l2"
        if l2 and residuals.sq_norms is None:
            raise ValueError(f"{residuals.path}: no norms.f16 for an L2 teacher (remove the folder to build it again)")
        qt = q.float().T.contiguous().to(dtype)
        table = (q.float() @ self.centroids.T).T.contiguous() if l2 else s.float().T.contiguous()  # q_i . mu_c
        q_sq = (q.float() * q.float()).sum(-1)[None, :]
        w = weights.double() if weights is not None else torch.ones(s.shape[0], dtype=torch.float64)
        has = np.flatnonzero(lengths > 0)
        for start in range(0, len(has), DECOMPRESS_READ):
            will_need(residuals.rows, self.token_offsets, docs[has[start:start + DECOMPRESS_READ]])
            for lo in range(start, min(start + DECOMPRESS_READ, len(has)), SCORE_CHUNK):
                part = has[lo:min(lo + SCORE_CHUNK, start + DECOMPRESS_READ)]
                rows = token_rows(self.token_offsets, docs[part])
                codes = torch.from_numpy(self.codes[rows].astype(np.int64))
                approx = table.index_select(0, codes).add_((residuals.decode_rows(rows, dtype) @ qt).float())
                if l2:  # 2 (q_i . mu_c + q_i . r_hat) - ||q_i||^2 - ||t||^2
                    t_sq = torch.from_numpy(residuals.sq_norms[rows].astype(np.float32))
                    approx.mul_(2).sub_(q_sq).sub_(t_sq[:, None])
                best = segment_max(approx, lengths[part])
                out[part] = (best.double() * w).sum(1).numpy()
        return out

    @property
    def residuals(self):
        """The residual codes (``residuals/``), None where they were not built."""
        from .residuals import Residuals

        if self._residuals is None and Residuals.exists(self.path):
            self._residuals = Residuals(self.path / "residuals", int(self.meta["tokens"]), int(self.meta["dim"]))
        return self._residuals

    def built_residuals(self):
        """:attr:`residuals`, or a ValueError where they were not built (the stages that score from them)."""
        if self.residuals is None:
            raise ValueError(f"{self.path}: no residual codes (residuals/); build them with build_residuals")
        return self.residuals

    def _pruned(self, s: torch.Tensor, weights: Optional[torch.Tensor], settings: Approximate) -> np.ndarray:
        """Indices of the ``ndocs`` documents of highest A(d) (module doc), ascending."""
        ncells = min(settings.ncells, s.shape[1])
        top, cells = s.topk(min(ncells + 1, s.shape[1]), dim=1)
        floor = top[:, -1:] if ncells < s.shape[1] else top[:, -1:] - 1.0
        top, cells = top[:, :ncells], cells[:, :ncells]
        gains = (top - floor).double()
        if weights is not None:
            gains = gains * weights.double()[:, None]
        approx = torch.zeros(self.num_docs, dtype=torch.float64)
        best = torch.zeros(self.num_docs, dtype=torch.float64)
        for i in range(s.shape[0]):
            docs = [self._list(int(c), self.docs) for c in cells[i]]
            sizes = [len(d) for d in docs]
            if not sum(sizes):
                continue
            index = torch.from_numpy(np.concatenate(docs))
            values = torch.repeat_interleave(gains[i], torch.tensor(sizes))
            best.zero_()
            best.scatter_reduce_(0, index, values, reduce="amax")
            approx += best
        a = approx.numpy()
        hit = np.flatnonzero(a > 0)
        if len(hit) > settings.ndocs:
            kth = np.partition(a[hit], len(hit) - settings.ndocs)[len(hit) - settings.ndocs]
            hit = hit[a[hit] >= kth]
            hit = hit[np.lexsort((hit, -a[hit]))][:settings.ndocs]
        return np.sort(hit)

    def nearest_tokens(self, vectors: torch.Tensor, k: int, token_vectors: np.ndarray, cells: int,
                       codes: bool = False) -> torch.Tensor:
        """(c, k) rows of the token vectors of largest inner product with each vector, among the tokens of its
        ``cells`` best lists, scored exactly from their vectors on disk; -1 where fewer than k tokens were
        probed. With ``codes`` the probed tokens are first ranked from their residual codes in list order
        (mu_c . v + r_hat . v, each probed list one contiguous read) and only the best :data:`PRF_RESCORE` k of
        them are read from disk and scored exactly (all of them ranked from the codes with PRF_RESCORE 0)."""
        from .token_index import will_need_rows

        s = vectors.float() @ self.centroids.T
        probe = s.topk(min(cells, s.shape[1]), dim=1).indices
        out = torch.full((vectors.shape[0], k), -1, dtype=torch.int64)
        if codes:
            probed = self._coded_nearest(vectors, s, probe, PRF_RESCORE * k if PRF_RESCORE else k)
            if not PRF_RESCORE:
                for i, rows in enumerate(probed):
                    out[i, :len(rows)] = torch.from_numpy(rows)
                return out
            probed = [np.sort(rows) for rows in probed]
        else:
            probed = [np.sort(np.concatenate([self._list(int(c), self.tokens) for c in probe[i]]))
                      for i in range(vectors.shape[0])]
        every = np.unique(np.concatenate(probed)) if probed else np.zeros(0, dtype=np.int64)
        will_need_rows(token_vectors, every, every + 1)  # every vector's probed rows are read in parallel
        for i in range(vectors.shape[0]):
            rows = probed[i]
            if len(rows) == 0:
                continue
            scores = torch.from_numpy(np.asarray(token_vectors[rows], dtype=np.float32)) @ vectors[i].float()
            pick = scores.topk(min(k, len(rows))).indices.numpy()
            out[i, :len(pick)] = torch.from_numpy(rows[pick])
        return out

    def _coded_nearest(self, vectors: torch.Tensor, s: torch.Tensor, probe: torch.Tensor, keep: int) -> list:
        """Per vector, the rows of the ``keep`` probed tokens of highest inner product estimated from their
        residual codes (list order, every probed list's codes advised ``MADV_WILLNEED`` first), best first. Each
        probed list is decoded once, in bf16 where the CPU multiplies it natively (as the decompression stage's
        codes are: these estimates only choose what is re-scored exactly), and multiplied with every vector
        that probes it in one product."""
        from .token_index import scan_dtype, will_need_rows

        residuals = self.built_residuals()
        dtype = scan_dtype("cpu")
        users: dict = {}  # centre -> the vectors that probe it
        for i, cells in enumerate(probe.tolist()):
            for c in cells:
                users.setdefault(c, []).append(i)
        spans = {c: (int(self.offsets[c]), int(self.offsets[c + 1])) for c in users}
        ranges = sorted(spans.values())
        will_need_rows(residuals.lists, np.array([lo for lo, _ in ranges], dtype=np.int64),
                       np.array([hi for _, hi in ranges], dtype=np.int64))
        q = vectors.float().to(dtype)
        estimates = {}  # (centre, vector) -> mu_c . v + r_hat . v of the centre's tokens, float32
        rows_of = {}  # centre -> its token rows, read once however many vectors probe it
        for c, who in users.items():
            lo, hi = spans[c]
            if hi > lo:
                rows_of[c] = self._list(c, self.tokens)
                products = (residuals.decode_listed(lo, hi, dtype) @ q[who].T).float()
                for j, i in enumerate(who):
                    estimates[c, i] = products[:, j] + s[i, c]
        found = []
        for i, cells in enumerate(probe.tolist()):
            parts = [c for c in cells if c in rows_of]
            if not parts:
                found.append(np.zeros(0, dtype=np.int64))
                continue
            scores = torch.cat([estimates[c, i] for c in parts])
            pick = scores.topk(min(keep, len(scores))).indices.numpy()
            found.append(np.concatenate([rows_of[c] for c in parts])[pick])
        return found


def build_centroid_index(index, centroids: Optional[int] = None, iterations: int = 10, seed: int = 0,
                         chunk: int = 1 << 18) -> CentroidIndex:
    """Write ``INDEX/ivf/`` for a :class:`~pyserini_ckd.teacher.token_index.TokenIndex` (module doc)."""
    import faiss

    started = time.perf_counter()
    total, dim = index.tokens.shape
    if total >= 2 ** 32:
        raise ValueError(f"{index.path}: {total} token vectors; the lists hold 32-bit rows")
    nlist = min(centroids or default_centroids(total), max(1, total))
    rng = np.random.default_rng(seed)
    size = min(total, max(nlist * SAMPLE_PER_CENTROID, 1 << 14))
    # the sample: windows of 256 consecutive rows at seeded random places, read from the file (random rows
    # through the memory map would leave a page per row resident)
    if size >= total // 2:
        sample = index.read_rows(0, total)
    else:
        starts = np.sort(rng.choice(total // 256, size=size // 256, replace=False)) * 256
        sample = np.concatenate([index.read_rows(lo, lo + 256) for lo in starts])
    cosine = index.similarity != "l2"
    centres = train_centres(sample, nlist, iterations, seed, cosine)
    metric = faiss.METRIC_INNER_PRODUCT if cosine else faiss.METRIC_L2
    if nlist <= FLAT_ASSIGN_UP_TO:
        assigner = faiss.IndexFlat(dim, metric)
    else:
        assigner = faiss.IndexHNSWFlat(dim, 32, metric)
        assigner.hnsw.efConstruction = 80
        assigner.hnsw.efSearch = ASSIGN_EF_SEARCH
    assigner.add(centres)
    with atomic_output(index.path / "ivf", directory=True) as tmp:
        codes = np.memmap(tmp / codes_name(nlist), dtype=codes_dtype(nlist), mode="w+", shape=(total,))
        sums, sq_sums = np.zeros((nlist, dim)), np.zeros(nlist)
        for lo in range(0, total, chunk):
            rows = index.read_rows(lo, lo + chunk)
            _, nearest = assigner.search(rows, 1)
            codes[lo:lo + chunk] = nearest[:, 0]
            order = np.argsort(nearest[:, 0], kind="stable")
            c = nearest[order, 0]
            first = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
            sums[c[first]] += np.add.reduceat(rows[order].astype(np.float64), first, axis=0)
            sq_sums[c[first]] += np.add.reduceat((rows[order].astype(np.float64) ** 2).sum(1), first)
        counts = np.zeros(nlist, dtype=np.int64)
        for lo in range(0, total, chunk):
            counts += np.bincount(np.asarray(codes[lo:lo + chunk]), minlength=nlist)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        rows_out = np.memmap(tmp / "tokens.u32", dtype=np.uint32, mode="w+", shape=(total,))
        docs_out = np.memmap(tmp / "docs.u32", dtype=np.uint32, mode="w+", shape=(total,))
        cursor = offsets[:-1].copy()
        for lo in range(0, total, chunk):
            c = np.asarray(codes[lo:lo + chunk]).astype(np.int64)
            order = np.argsort(c, kind="stable")
            sorted_c = c[order]
            first = np.searchsorted(sorted_c, sorted_c, side="left")  # where each centre's run starts in this chunk
            positions = cursor[sorted_c] + (np.arange(len(c)) - first)
            rows = lo + order
            rows_out[positions] = rows
            docs_out[positions] = np.searchsorted(index.offsets, rows, side="right") - 1
            cursor += np.bincount(c, minlength=nlist)
        for out in (codes, rows_out, docs_out):
            out.flush()
        del codes, rows_out, docs_out
        filled = counts > 0
        means = centres.astype(np.float64)  # an empty centre keeps its k-means position (no token scores through it)
        means[filled] = sums[filled] / counts[filled, None]
        np.save(tmp / "centroids.npy", means.astype(np.float32))
        np.save(tmp / "sq_norms.npy", np.where(filled, sq_sums / np.maximum(counts, 1), (centres ** 2).sum(1)).astype(np.float32))
        np.save(tmp / "offsets.npy", offsets)
        (tmp / "ivf.json").write_text(json.dumps({
            "centroids": nlist, "tokens": int(total), "dim": int(dim), "similarity": index.similarity,
            "sample": int(size), "iterations": iterations, "seed": seed,
            "assignment": "flat" if nlist <= FLAT_ASSIGN_UP_TO else f"hnsw32 efSearch {ASSIGN_EF_SEARCH}",
            "seconds": round(time.perf_counter() - started, 1)}, indent=1))
    return CentroidIndex(index.path / "ivf", index.offsets, index.similarity)
