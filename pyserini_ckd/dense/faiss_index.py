"""Dense indexes in Pyserini's layout: ``index`` (a Faiss ``IndexFlatIP``), ``docid`` (one id a line),
plus ``pyserini_ckd.json`` (model, pooling, normalisation, dimension, passages, corpus fingerprint, shard).

Pyserini's ``FaissSearcher`` reads the first two as they are; the metadata lets pyserini_ckd refuse a
mismatched encoder before any search. HNSW and PQ indexes are built from a flat one with Pyserini's own
``pyserini.index.faiss`` (see the README).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np

from ..atomic import atomic_output
from ..errors import CkdError, InputError

META_NAME = "pyserini_ckd.json"


@dataclass
class IndexMeta:
    model: str
    model_fingerprint: str
    pooling: str
    normalize: bool
    dimension: int
    passages: int
    corpus: str
    corpus_fingerprint: str
    shard_id: int = 0
    shard_num: int = 1
    precision: str = ""  # what the passages were encoded in: fp32, bf16 or fp16 ("" in older indexes)

    def save(self, index_dir: Path) -> None:
        (Path(index_dir) / META_NAME).write_text(json.dumps(asdict(self), indent=2) + "\n")


def read_meta(index_dir: Union[str, Path]) -> Optional[IndexMeta]:
    """The index's metadata, or None for a Faiss index made elsewhere (Pyserini's own encode)."""
    index_dir = Path(index_dir)
    check_dense_index(index_dir)
    path = index_dir / META_NAME
    if not path.is_file():
        return None
    try:
        return IndexMeta(**json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError) as exc:
        raise InputError(path, None, f"unreadable index metadata ({exc})") from None


def check_dense_index(index_dir: Path) -> None:
    if not index_dir.is_dir():
        raise InputError(index_dir, None, "no such index folder")
    if any(index_dir.glob("segments_*")):
        raise InputError(index_dir, None, "is a Lucene (BM25) index, not a dense one: use --bm25")
    for name in ("index", "docid"):
        if not (index_dir / name).is_file():
            raise InputError(index_dir, None, f"not a dense index (no '{name}' file)")


class FlatIndexWriter:
    """Stream embeddings into an ``IndexFlatIP``; :meth:`write` saves the Pyserini layout atomically.

    Where Faiss is not installed (a GPU image with torch only), the vectors are kept and written as
    ``vectors.npy`` beside ``docid`` instead, which :func:`pyserini_ckd.dense.search.exact_search` reads.
    """

    def __init__(self, dimension: int) -> None:
        try:
            import faiss
        except ImportError:
            faiss = None
        self.index = faiss.IndexFlatIP(dimension) if faiss is not None else None
        self.parts: List[np.ndarray] = []
        self.docids: List[str] = []

    def add(self, docids: Sequence[str], embeddings: np.ndarray) -> None:
        vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
        if self.index is not None:
            self.index.add(vectors)
        else:
            self.parts.append(vectors)
        self.docids.extend(docids)

    def write(self, out_dir: Union[str, Path], meta: IndexMeta) -> Path:
        with atomic_output(out_dir, directory=True) as tmp:
            if self.index is not None:
                import faiss

                faiss.write_index(self.index, str(tmp / "index"))
            else:
                np.save(tmp / "vectors.npy", np.concatenate(self.parts) if self.parts else np.zeros((0, meta.dimension), np.float32))
            (tmp / "docid").write_text("".join(f"{d}\n" for d in self.docids))
            meta.save(tmp)
        return Path(out_dir)


def merge_shards(shard_dirs: Sequence[Union[str, Path]], out_dir: Union[str, Path]) -> IndexMeta:
    """Concatenate the shards of one encoding (in shard order) into a single flat index."""
    import faiss

    metas = []
    for d in shard_dirs:
        meta = read_meta(d)
        if meta is None:
            raise InputError(d, None, "shard without pyserini_ckd.json metadata")
        metas.append((meta, Path(d)))
    metas.sort(key=lambda m: m[0].shard_id)
    first = metas[0][0]
    for meta, d in metas:
        for key in ("model_fingerprint", "corpus_fingerprint", "dimension", "shard_num"):
            if getattr(meta, key) != getattr(first, key):
                raise CkdError(f"{d}: shard differs from {metas[0][1]} in {key}")
    ids = [m.shard_id for m, _ in metas]
    if ids != list(range(first.shard_num)):
        raise CkdError(f"shards {ids} do not cover 0..{first.shard_num - 1}")
    writer = FlatIndexWriter(first.dimension)
    for _, d in metas:
        index = faiss.read_index(str(d / "index"))
        writer.add((d / "docid").read_text().split("\n")[:-1], index.reconstruct_n(0, index.ntotal))
    merged = IndexMeta(**{**asdict(first), "passages": len(writer.docids), "shard_id": 0, "shard_num": 1})
    writer.write(out_dir, merged)
    return merged
