"""Pyserini encoder classes for pyserini_ckd models.

``FaissSearcher(index_dir, CkdQueryEncoder(model_dir))`` and ``HybridSearcher`` work as with Pyserini's
own encoders; pooling, normalisation, lengths and prefixes come from the model directory, so no flag
can be wrong. After ``import pyserini_ckd`` the classes are registered in Pyserini's encoder class maps
under ``ckd`` (see :mod:`pyserini_ckd.registration`), so Pyserini's CLIs pick them for any model path
containing ``ckd``.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np
from pyserini.encode import DocumentEncoder, QueryEncoder

from .encoder import DenseEncoder

NAME = "ckd"


def _device(device: Optional[str]) -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        return "cpu"  # Pyserini's CLIs default to cuda:0
    return str(device)


class CkdDocumentEncoder(DocumentEncoder):
    """Pyserini ``DocumentEncoder`` for passages; ``encode(texts, titles=None)`` returns float32 (n, d)."""

    def __init__(self, model_name: str, tokenizer_name: Optional[str] = None, device: str = "cpu", **_: object) -> None:
        self.model = DenseEncoder.load(model_name, device=_device(device))
        self.has_model = True

    def encode(self, texts: Sequence[str], titles: Optional[Sequence[str]] = None, max_length: Optional[int] = None,
               **_: object) -> np.ndarray:
        if titles is not None:
            texts = [f"{t} {x}" if t else x for t, x in zip(titles, texts)]
        texts = ["" if x is None else x for x in texts]
        return self.model.encode(texts, kind="passage", max_length=max_length)


class CkdQueryEncoder(QueryEncoder):
    """Pyserini ``QueryEncoder``; ``encode(query)`` gives one vector, ``encode_batch(queries)`` a matrix."""

    def __init__(self, encoder_dir: Optional[str] = None, tokenizer_name: Optional[str] = None,
                 encoded_query_dir: Optional[str] = None, device: str = "cpu", **_: object) -> None:
        super().__init__(encoded_query_dir)
        if encoder_dir:
            self.model = DenseEncoder.load(encoder_dir, device=_device(device))
            self.has_model = True
        if not self.has_model and not self.has_encoded_query:
            raise ValueError("CkdQueryEncoder needs a model directory (encoder_dir) or encoded queries")

    @property
    def dimension(self) -> int:
        return self.model.dimension

    def encode(self, query: str, **_: object) -> np.ndarray:
        if not self.has_model:
            return super().encode(query)
        return self.model.encode([query], kind="query")[0]

    def encode_batch(self, queries: List[str], **_: object) -> np.ndarray:
        return self.model.encode(list(queries), kind="query")


def register() -> None:
    """Add the classes to Pyserini's encoder class maps under ``ckd`` (idempotent)."""
    import pyserini.encode as pe

    pe.document_encoder_class_map.setdefault(NAME, CkdDocumentEncoder)
    pe.query_encoder_class_map.setdefault(NAME, CkdQueryEncoder)
