"""Dense search with Pyserini's ``FaissSearcher`` and :class:`CkdQueryEncoder`, checked before it starts.

An index and an encoder must agree on dimension, pooling, normalisation and model (by fingerprint):
any mismatch is one line before a single query is searched.

Two search backends (:data:`BACKENDS`), tried in order by :func:`open_backend`: ``pyserini-faiss``
(Pyserini's FaissSearcher over the ``index`` file) and ``exact-torch`` (the same inner products with
torch, over ``vectors.npy`` or the Faiss index's vectors; for a machine without Pyserini or Faiss, such
as the GPU image). A backend that cannot run here says so with :class:`BackendUnavailable`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Mapping, Optional, Tuple

from tqdm import tqdm

from ..data.records import Query, Run, ScoredDoc
from ..errors import CkdError, ConfigError, InputError, require_positive
from ..java import ensure_pyserini_ready
from .encoder import DenseEncoder, model_fingerprint
from .faiss_index import IndexMeta, read_meta

logger = logging.getLogger(__name__)


@dataclass
class DenseSearchConfig:
    hits: int = 1000
    batch_size: int = 64
    threads: int = 1
    device: str = "cpu"

    def __post_init__(self) -> None:
        require_positive(self, "hits", "batch_size", "threads", dashed=False)


def check_compatible(index_dir: Path, meta: Optional[IndexMeta], model: DenseEncoder, index_dimension: int) -> None:
    """Raise a one-line :class:`CkdError` if the encoder cannot search this index."""
    if index_dimension != model.dimension:
        raise CkdError(f"{index_dir}: index has dimension {index_dimension}, encoder {model.source} gives {model.dimension}")
    if meta is None:
        logger.warning("%s has no pyserini_ckd.json: pooling and model cannot be checked", index_dir)
        return
    if (meta.pooling, meta.normalize) != (model.config.pooling, model.config.normalize):
        raise CkdError(f"{index_dir}: index encoded with pooling={meta.pooling} normalize={meta.normalize}, "
                       f"encoder uses pooling={model.config.pooling} normalize={model.config.normalize}")
    fingerprint = model_fingerprint(model.source)
    if meta.model_fingerprint != fingerprint:
        raise CkdError(f"{index_dir}: index encoded with model {meta.model} ({meta.model_fingerprint}), "
                       f"not with {model.source} ({fingerprint})")


def _faiss_dimension(index_dir: Path) -> int:
    """The index's dimension; a truncated or corrupt ``index`` file fails here with one line, not in Faiss."""
    import faiss

    path = index_dir / "index"
    try:
        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY).d
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputError(path, None, f"unreadable Faiss index ({detail.split('Error: ')[-1][:160]})") from None


def open_dense_searcher(index_dir: Path, encoder: Optional[str], config: DenseSearchConfig):
    """A Pyserini ``FaissSearcher`` with a ``CkdQueryEncoder``; the encoder defaults to the index's model."""
    index_dir = Path(index_dir)
    meta = read_meta(index_dir)
    if encoder is None:
        if meta is None:
            raise ConfigError(f"{index_dir}: give --encoder (the index records no model)")
        encoder = meta.model
    ensure_pyserini_ready()
    from pyserini.search.faiss import FaissSearcher

    from .pyserini_encoders import CkdQueryEncoder

    query_encoder = CkdQueryEncoder(encoder, device=config.device)
    check_compatible(index_dir, meta, query_encoder.model, _faiss_dimension(index_dir))
    return FaissSearcher(str(index_dir), query_encoder)


def dense_search(searcher, queries: Mapping[str, Query], config: DenseSearchConfig) -> Run:
    """Batch-search every query (queries encoded by ``encode_batch``); the run keeps the queries' order."""
    qids = list(queries)
    run: Run = {}
    with tqdm(total=len(qids), unit="query", desc="dense search") as bar:
        for start in range(0, len(qids), config.batch_size):
            chunk = qids[start:start + config.batch_size]
            hits = searcher.batch_search([queries[q].text for q in chunk], chunk, k=config.hits, threads=config.threads)
            for qid in chunk:
                run[qid] = [ScoredDoc(h.docid, float(h.score)) for h in hits[qid]]
            bar.update(len(chunk))
    return run


def exact_search(model: DenseEncoder, doc_vectors, docids, queries: Mapping[str, Query], hits: int,
                 batch_size: int = 256) -> Run:
    """Exact inner-product search with torch (what an ``IndexFlatIP`` computes), for machines without Faiss.

    Ties are broken by corpus order. ``doc_vectors`` is an (N, d) float32 array or tensor.
    """
    import torch

    device = model.device
    docs = torch.as_tensor(doc_vectors, dtype=torch.float32, device=device)
    qids = list(queries)
    run: Run = {}
    k = min(hits, docs.shape[0])
    for start in range(0, len(qids), batch_size):
        chunk = qids[start:start + batch_size]
        q = torch.as_tensor(model.encode([queries[x].text for x in chunk], kind="query"), device=device)
        scores, idx = (q @ docs.T).topk(k, dim=-1, sorted=True)
        for row, qid in enumerate(chunk):
            run[qid] = [ScoredDoc(docids[i], float(s)) for s, i in zip(scores[row].tolist(), idx[row].tolist())]
    return run


class BackendUnavailable(Exception):
    """A search backend's libraries are missing on this machine (the next backend is tried)."""


@dataclass
class DenseBackend:
    """A ready dense searcher: ``search(queries)`` gives the run; ``name`` says which backend it is."""

    name: str
    search: Callable[[Mapping[str, Query]], Run]


def _pyserini_faiss(index_dir: Path, encoder: str, config: DenseSearchConfig) -> DenseBackend:
    if not (index_dir / "index").is_file():
        raise BackendUnavailable(f"{index_dir} has no Faiss index file")
    try:
        searcher = open_dense_searcher(index_dir, encoder, config)
    except ImportError as exc:
        raise BackendUnavailable(str(exc)) from None
    return DenseBackend("pyserini-faiss", lambda queries: dense_search(searcher, queries, config))


def _exact_torch(index_dir: Path, encoder: str, config: DenseSearchConfig) -> DenseBackend:
    import numpy as np

    if (index_dir / "vectors.npy").is_file():
        vectors = np.load(index_dir / "vectors.npy")
    else:
        try:
            import faiss
        except ImportError:
            raise BackendUnavailable(f"{index_dir} holds a Faiss index and Faiss is not installed") from None
        index = faiss.read_index(str(index_dir / "index"))
        vectors = index.reconstruct_n(0, index.ntotal)
    docids = (index_dir / "docid").read_text().split("\n")[:-1]
    model = DenseEncoder.load(encoder, device=config.device)
    return DenseBackend("exact-torch", lambda queries: exact_search(model, vectors, docids, queries, config.hits))


# The dense search backends, in the order open_backend tries them. Adding one is one entry here.
BACKENDS: Dict[str, Callable[[Path, str, DenseSearchConfig], DenseBackend]] = {
    "pyserini-faiss": _pyserini_faiss, "exact-torch": _exact_torch}


def open_backend(index_dir: Path, encoder: str, config: DenseSearchConfig) -> DenseBackend:
    """The first backend of :data:`BACKENDS` that can run here on ``index_dir``."""
    reasons = []
    for name, open_one in BACKENDS.items():
        try:
            return open_one(Path(index_dir), encoder, config)
        except BackendUnavailable as exc:
            reasons.append(f"{name}: {exc}")
    raise CkdError(f"{index_dir}: no dense search backend can run here ({'; '.join(reasons)})")
