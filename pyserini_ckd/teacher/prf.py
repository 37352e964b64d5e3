"""Pseudo-relevance feedback: collective knowledge from the top-ranked passages.

ColBERT-PRF (as in the authors' code), for one query and its top ``fb_docs`` feedback documents:

1. k-means (Lloyd, Euclidean, one initialisation) over the feedback documents' token vectors into
   ``fb_clusters`` centroids, seeded at evenly spaced token positions inside each feedback document
   (the seeds spread evenly over the documents);
2. each centroid's token: the most frequent vocabulary id among its ``nearest`` (10) closest token
   vectors in the whole collection, special tokens skipped;
3. weight = beta x IDF(token), IDF = log((1 + N) / (df + 1));
4. the ``fb_k`` heaviest centroids are the expansion vectors (not re-normalised), scored as
   s(q, d) = sum_i max_j sim(q_i, d_j) + sum_e w_e max_j sim(c_e, d_j).

Rocchio, for a single-vector (dense) teacher: q' = alpha q + beta mean(top ``fb_docs`` document vectors),
s(q, d) = q' . d.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import numpy as np
import torch

from ..errors import ConfigError, require_positive
from ..jobs import non_negative_float, positive_int, setting


@dataclass
class PRFConfig:
    """ColBERT-PRF's settings (Wang et al., 2021): feedback documents, centroids, expansion terms, their weight."""

    fb_docs: int = setting(3, type=positive_int, group="pseudo-relevance feedback", help="feedback documents: the teacher's top N")
    fb_clusters: int = setting(24, type=positive_int, group="pseudo-relevance feedback", help="k-means centroids of the feedback tokens")
    fb_k: int = setting(10, type=positive_int, group="pseudo-relevance feedback", help="expansion embeddings kept (highest IDF)")
    beta: float = setting(1.0, type=non_negative_float, group="pseudo-relevance feedback", help="weight of the expansion embeddings")
    nearest: int = setting(10, type=positive_int, group="pseudo-relevance feedback", flags=["--prf-nearest"],
                           help="corpus tokens nearest each centroid, whose most common token gives its IDF")
    kmeans_iters: int = setting(100, type=positive_int, group="pseudo-relevance feedback", flags=["--prf-kmeans-iters"],
                                help="k-means iterations at most")

    def __post_init__(self) -> None:
        require_positive(self, "fb_docs", "fb_clusters", "fb_k", "nearest", "kmeans_iters")
        if self.beta < 0:
            raise ConfigError(f"beta must be >= 0, got {self.beta}")


@dataclass
class RocchioConfig:
    """Rocchio feedback for a dense teacher: q' = alpha q + beta mean(top fb_docs passages)."""

    fb_docs: int = setting(3, type=positive_int, group="pseudo-relevance feedback")
    alpha: float = setting(1.0, type=non_negative_float, group="pseudo-relevance feedback")
    beta: float = setting(0.5, type=non_negative_float, group="pseudo-relevance feedback")

    def __post_init__(self) -> None:
        if self.fb_docs <= 0 or self.alpha < 0 or self.beta < 0:
            raise ConfigError("rocchio: fb-docs must be positive, alpha and beta >= 0")


@dataclass
class Expansion:
    vectors: torch.Tensor  # (k, dim)
    weights: torch.Tensor  # (k,)
    token_ids: List[int] = field(default_factory=list)
    tokens: List[str] = field(default_factory=list)

    @classmethod
    def empty(cls, dim: int) -> "Expansion":
        """No expansion terms (no feedback tokens, or none chosen)."""
        return cls(torch.zeros(0, dim), torch.zeros(0))

    def as_json(self) -> list:
        return [{"token": t, "token_id": i, "weight": round(float(w), 6)}
                for t, i, w in zip(self.tokens, self.token_ids, self.weights.tolist())]


def kmeans(x: torch.Tensor, init: torch.Tensor, iters: int = 100, tol: float = 1e-6) -> torch.Tensor:
    """Lloyd's algorithm from the given centroids; an empty cluster keeps its centroid. Deterministic."""
    c = init.clone()
    for _ in range(iters):
        assign = torch.cdist(x, c).argmin(-1)
        new = c.clone()
        sums = torch.zeros_like(c).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=c.shape[0]).to(x.dtype)
        nonempty = counts > 0
        new[nonempty] = sums[nonempty] / counts[nonempty, None]
        shift = (new - c).pow(2).sum().item()
        c = new
        if shift <= tol:
            break
    return c


def seed_positions(lengths: Sequence[int], k: int) -> List[int]:
    """k row indices into the concatenated documents, spread evenly over documents, then over tokens."""
    docs = [i for i, n in enumerate(lengths) if n > 0]
    if not docs:
        return []
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    per = [k // len(docs) + (j < k % len(docs)) for j in range(len(docs))]
    seeds: List[int] = []
    for doc, count in zip(docs, per):
        n = lengths[doc]
        positions = np.unique(np.linspace(0, n - 1, num=min(count, n)).round().astype(int))
        seeds.extend(int(starts[doc] + p) for p in positions)
    return seeds


def feedback_centroids(index, feedback: Sequence[int], config: PRFConfig) -> Optional[torch.Tensor]:
    """Step 1: the k-means centroids (c, dim) of the feedback documents' token vectors (None without tokens)."""
    parts = [index.doc_tokens(i) for i in feedback]
    lengths = [p.shape[0] for p in parts]
    if not parts or sum(lengths) == 0:
        return None
    tokens = torch.cat(parts)
    seeds = seed_positions(lengths, min(config.fb_clusters, tokens.shape[0]))
    return kmeans(tokens, tokens[seeds], config.kmeans_iters)


def choose_expansion(index, tokenizer, centroids: torch.Tensor, nearest: torch.Tensor, config: PRFConfig,
                     special_ids: set) -> Expansion:
    """Steps 2-4 from the centroids and their nearest stored tokens' rows (c, k; -1 where none)."""
    chosen = []
    for c in range(centroids.shape[0]):
        rows = nearest[c].numpy()
        ids = [int(t) for t in index.token_ids[rows[rows >= 0]] if int(t) not in special_ids]
        if not ids:
            continue
        token_id = Counter(ids).most_common(1)[0][0]
        chosen.append((config.beta * index.idf(token_id), c, token_id))
    chosen.sort(key=lambda x: (-x[0], x[1]))
    chosen = chosen[:config.fb_k]
    if not chosen:
        return Expansion.empty(centroids.shape[1])
    return Expansion(vectors=centroids[[c for _, c, _ in chosen]],
                     weights=torch.tensor([w for w, _, _ in chosen], dtype=torch.float32),
                     token_ids=[t for _, _, t in chosen],
                     tokens=tokenizer.convert_ids_to_tokens([t for _, _, t in chosen]))


def colbert_prf(index, tokenizer, feedback: Sequence[int], config: PRFConfig, special_ids: set,
                cells: Optional[int] = None, codes: bool = False) -> Expansion:
    """Expansion vectors and weights for one query from its feedback documents (indices in ``index``)."""
    return colbert_prf_many(index, tokenizer, [feedback], config, special_ids, cells, codes)[0]


def colbert_prf_many(index, tokenizer, feedbacks: Sequence[Sequence[int]], config: PRFConfig,
                     special_ids: set, cells: Optional[int] = None, codes: bool = False) -> List[Expansion]:
    """:func:`colbert_prf` of several queries, their centroids' nearest tokens looked up together
    (:meth:`~pyserini_ckd.teacher.token_index.TokenIndex.nearest_tokens_many`: one pass over the tokens in
    memory; streamed, in each centroid's ``cells`` best lists, default ``Approximate.prf_cells``, ranked from
    the residual codes with ``codes``)."""
    centroids = [feedback_centroids(index, fb, config) for fb in feedbacks]
    found = iter(index.nearest_tokens_many([c for c in centroids if c is not None], config.nearest, cells, codes))
    empty = Expansion.empty(index.tokens.shape[1])
    return [empty if c is None else choose_expansion(index, tokenizer, c, next(found), config, special_ids)
            for c in centroids]


def rocchio(query: np.ndarray, feedback_vectors: np.ndarray, config: RocchioConfig) -> np.ndarray:
    """q' = alpha q + beta mean(feedback)."""
    if feedback_vectors.shape[0] == 0:
        return config.alpha * query
    return config.alpha * query + config.beta * feedback_vectors.mean(0)
