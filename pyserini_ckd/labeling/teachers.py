"""Teachers behind one interface: rank a query over the corpus, score given documents, expand a query.

- :class:`LateInteractionTeacher`: ColBERT-style scores over a token index, ColBERT-PRF expansion;
- :class:`DenseTeacher`: any single-vector encoder (the student's own hard-label checkpoint included),
  inner products over the encoded corpus, Rocchio expansion;
- :class:`CrossEncoderTeacher`: scores pairs only; its ranking re-ranks a BM25 pool.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from ..data.records import Document
from ..errors import ConfigError
from ..teacher.centroid_index import Approximate
from ..teacher.prf import Expansion, PRFConfig, RocchioConfig, colbert_prf, rocchio

logger = logging.getLogger(__name__)


def _top(scores: np.ndarray, docids: Sequence[str], k: int) -> List[Tuple[str, float]]:
    order = np.lexsort((np.arange(len(scores)), -scores))[:k]
    return [(docids[i], float(scores[i])) for i in order]


@dataclass
class Prepared:
    """One query's results from :meth:`LateInteractionTeacher.prepare`."""

    vectors: torch.Tensor
    depth: int
    ranking: List[Tuple[str, float]]
    feedback: List[str]
    expansion: Optional[Expansion]
    expanded_ranking: Optional[List[Tuple[str, float]]]


class LateInteractionTeacher:
    kind = "late-interaction"

    def __init__(self, path: Path, corpus: Mapping[str, Document], index_dir: Path, prf: PRFConfig, device: str = "cpu",
                 first_stage: str = "auto", approximate: Optional[Approximate] = None,
                 in_memory_tokens: Optional[int] = None) -> None:
        from ..teacher.late_interaction import LateInteractionEncoder
        from ..teacher.token_index import (TokenIndex, build_token_index, corpus_fingerprint, device_in_memory_tokens,
                                           teacher_fingerprint)

        self.encoder = LateInteractionEncoder.load(path, device=device)
        self.prf = prf
        start = time.perf_counter()
        # reuse an index only when it holds this teacher's vectors of this corpus (a teacher retrained into
        # the same folder, or a changed corpus, has other fingerprints)
        stamp = {"teacher_fingerprint": teacher_fingerprint(path), "corpus_fingerprint": corpus_fingerprint(corpus.values()),
                 "docs": len(corpus)}
        meta = index_dir / "meta.json"
        if meta.is_file() and {k: json.loads(meta.read_text()).get(k) for k in stamp} == stamp:
            self.index = TokenIndex.load(index_dir)
            self.reused_index = True
        else:
            self.index = build_token_index(self.encoder, corpus.values(), index_dir, total=len(corpus),
                                           corpus_fingerprint=stamp["corpus_fingerprint"],
                                           teacher_fingerprint=stamp["teacher_fingerprint"])
            self.reused_index = False
        self.index.device = device
        if in_memory_tokens is None:  # the index's own limit (IN_MEMORY_TOKENS), or what a GPU's memory holds
            in_memory_tokens = max(self.index.in_memory_tokens,
                                   device_in_memory_tokens(device, self.index.tokens.shape[1]) or 0)
        self.index.in_memory_tokens = in_memory_tokens
        approximate = approximate or Approximate()
        self.prf_cells = approximate.prf_cells  # lists a PRF centroid probes, streamed
        self.prf_codes = approximate.prf_codes  # their tokens ranked from residual codes, streamed
        self.approximate = self.index.first_stage(first_stage, approximate)
        if self.approximate is not None:
            self.index.centroid_index()  # built once (its seconds are index seconds)
        prf_through_codes = self.prf_codes and self.index.streamed and self.index.centroid_index(build=False) is not None
        if (self.approximate is not None and self.approximate.ndecompress) or prf_through_codes:
            self.index.residual_codes(approximate.residual_bits)  # the same
        self.index_seconds = time.perf_counter() - start
        self.position = {d: i for i, d in enumerate(self.index.docids)}
        self._prepared: Dict[str, Prepared] = {}

    def prepare(self, texts: Sequence[str], depth: int, fb_docs: Optional[int] = None,
                expanded: Optional[Sequence[bool]] = None) -> Dict[str, float]:
        """Encode several queries, rank them and (with ``fb_docs``) expand them together, and, where ``expanded``
        says, rank the expanded queries: :meth:`query`, :meth:`rank` and :meth:`expand` then return these
        results, the same as one query at a time, at the cost of one pass over the index for all of them
        (:meth:`~pyserini_ckd.teacher.token_index.TokenIndex.search_many`,
        :func:`~pyserini_ckd.teacher.prf.colbert_prf_many`). Returns the seconds spent, by stage
        (``scoring``, ``prf``). What was prepared before is dropped."""
        from ..teacher.prf import colbert_prf_many

        self._prepared = {}
        start = time.perf_counter()
        vectors = list(self.encoder.encode_queries(list(texts)).cpu()) if texts else []
        plain = self.index.search_many(vectors, depth, None, self.approximate)
        seconds = {"scoring": time.perf_counter() - start, "prf": 0.0}
        expansions: List[Optional[Expansion]] = [None] * len(vectors)
        feedback = [[i for i, _ in r[:fb_docs]] for r in plain] if fb_docs else [[] for _ in plain]
        if fb_docs:
            start = time.perf_counter()
            expansions = colbert_prf_many(self.index, self.encoder.tokenizer, feedback, self.prf, self.encoder.special_ids,
                                          self.prf_cells, self.prf_codes)
            seconds["prf"] = time.perf_counter() - start
        wanted = [i for i, e in enumerate(expansions) if e is not None and expanded is not None and expanded[i]]
        start = time.perf_counter()
        pairs = [self._vectors(vectors[i], expansions[i]) for i in wanted]
        found = dict(zip(wanted, self.index.search_many([v for v, _ in pairs], depth, [w for _, w in pairs], self.approximate)))
        seconds["scoring"] += time.perf_counter() - start
        for i, text in enumerate(texts):
            expanded_ranking = [(self.index.docids[d], s) for d, s in found[i]] if i in found else None
            self._prepared[text] = Prepared(vectors[i], depth, [(self.index.docids[d], s) for d, s in plain[i]],
                                            [self.index.docids[d] for d in feedback[i]], expansions[i], expanded_ranking)
        return seconds

    def _hit(self, q: torch.Tensor) -> Optional["Prepared"]:
        return next((p for p in self._prepared.values() if p.vectors is q), None)

    def query(self, text: str) -> torch.Tensor:
        if text in self._prepared:
            return self._prepared[text].vectors
        return self.encoder.encode_queries([text])[0].cpu()

    def _vectors(self, q: torch.Tensor, expansion: Optional[Expansion]):
        if expansion is None or expansion.vectors.shape[0] == 0:
            return q, None
        weights = torch.cat([torch.ones(q.shape[0]), expansion.weights])
        return torch.cat([q, expansion.vectors]), weights

    def rank(self, q: torch.Tensor, k: int, expansion: Optional[Expansion] = None) -> List[Tuple[str, float]]:
        hit = self._hit(q)
        if hit is not None and k <= hit.depth:
            if expansion is None:
                return hit.ranking[:k]
            if expansion is hit.expansion and hit.expanded_ranking is not None:
                return hit.expanded_ranking[:k]
        vectors, weights = self._vectors(q, expansion)
        return [(self.index.docids[i], s) for i, s in self.index.search(vectors, k, weights, self.approximate)]

    def score(self, q: torch.Tensor, docids: Sequence[str], expansion: Optional[Expansion] = None) -> List[float]:
        vectors, weights = self._vectors(q, expansion)
        return self.index.maxsim_docs(vectors, [self.position[d] for d in docids], weights).tolist()

    def expand(self, q: torch.Tensor, feedback: Sequence[str]) -> Expansion:
        hit = self._hit(q)
        if hit is not None and hit.expansion is not None and hit.feedback == list(feedback):
            return hit.expansion
        return colbert_prf(self.index, self.encoder.tokenizer, [self.position[d] for d in feedback], self.prf,
                           self.encoder.special_ids, self.prf_cells, self.prf_codes)


class DenseTeacher:
    kind = "dense"

    def __init__(self, path: Path, corpus: Mapping[str, Document], rocchio_config: RocchioConfig, device: str = "cpu") -> None:
        from ..dense.encoder import DenseEncoder

        self.encoder = DenseEncoder.load(path, device=device)
        self.rocchio = rocchio_config
        start = time.perf_counter()
        self.docids = list(corpus)
        self.vectors = self.encoder.encode([d.contents for d in corpus.values()], kind="passage")
        self.index_seconds = time.perf_counter() - start
        self.position = {d: i for i, d in enumerate(self.docids)}

    def query(self, text: str) -> np.ndarray:
        return self.encoder.encode([text], kind="query")[0]

    def _q(self, q: np.ndarray, expansion: Optional[Expansion]) -> np.ndarray:
        return expansion.vectors[0].numpy() if expansion is not None and expansion.vectors.shape[0] else q

    def rank(self, q: np.ndarray, k: int, expansion: Optional[Expansion] = None) -> List[Tuple[str, float]]:
        return _top(self.vectors @ self._q(q, expansion), self.docids, k)

    def score(self, q: np.ndarray, docids: Sequence[str], expansion: Optional[Expansion] = None) -> List[float]:
        return (self.vectors[[self.position[d] for d in docids]] @ self._q(q, expansion)).tolist()

    def expand(self, q: np.ndarray, feedback: Sequence[str]) -> Expansion:
        new_q = rocchio(q, self.vectors[[self.position[d] for d in feedback]], self.rocchio)
        return Expansion(torch.from_numpy(np.asarray(new_q, dtype=np.float32))[None, :], torch.ones(1))


class CrossEncoderTeacher:
    kind = "cross-encoder"

    def __init__(self, path: Path, corpus: Mapping[str, Document], pool: Mapping[str, List[str]], device: str = "cpu") -> None:
        from ..teacher.cross_encoder import CrossEncoder

        self.encoder = CrossEncoder.load(path, device=device)
        self.text = {d: doc.contents for d, doc in corpus.items()}
        self.pool = pool
        self.index_seconds = 0.0
        self._cache: Dict[Tuple[str, str], float] = {}

    def query(self, text: str) -> str:
        return text

    def score(self, q: str, docids: Sequence[str], expansion=None) -> List[float]:
        todo = [d for d in dict.fromkeys(docids) if (q, d) not in self._cache]
        for d, s in zip(todo, self.encoder.score(q, [self.text[d] for d in todo])):
            self._cache[(q, d)] = s
        return [self._cache[(q, d)] for d in docids]

    def rank_pool(self, q: str, qid: str, k: int) -> List[Tuple[str, float]]:
        pool = self.pool.get(qid, [])
        if not pool:
            raise ConfigError(f"cross-encoder: no BM25 pool for query {qid!r} (give --bm25-run with this split's queries)")
        scores = np.asarray(self.score(q, pool))
        return _top(scores, pool, k)
