"""Datasets in BEIR layout, found by path or by name.

A dataset argument is a folder path (holding ``corpus.jsonl``, ``queries.jsonl`` and
``qrels/<split>.tsv``), or a name looked up under ``$PYSERINI_CKD_DATA``; a public BEIR name that is
found nowhere locally is downloaded (see :mod:`.download`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Dict, List, Optional, Union

from ..errors import CkdError, InputError
from .corpus import iter_corpus, read_corpus
from .download import BEIR_MD5, download_beir
from .qrels import read_qrels
from .records import Document, Qrels, Query
from .topics import read_queries

DATA_ENV = "PYSERINI_CKD_DATA"


@dataclass
class Dataset:
    """A BEIR-layout folder. Corpus, queries and qrels are read lazily and cached."""

    path: Path
    name: str = ""
    _qrels: Dict[str, Qrels] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.name = self.name or self.path.name

    @property
    def corpus_path(self) -> Path:
        return self.path / "corpus.jsonl"

    @property
    def queries_path(self) -> Path:
        return self.path / "queries.jsonl"

    def qrels_path(self, split: str) -> Path:
        return self.path / "qrels" / f"{split}.tsv"

    @property
    def splits(self) -> List[str]:
        """Every split that has a qrels file, sorted."""
        return sorted(p.stem for p in (self.path / "qrels").glob("*.tsv"))

    @cached_property
    def corpus(self) -> Dict[str, Document]:
        return read_corpus(self.corpus_path)

    def iter_corpus(self):
        return iter_corpus(self.corpus_path)

    @cached_property
    def queries(self) -> Dict[str, Query]:
        return read_queries(self.queries_path)

    def qrels(self, split: str, check_docs: bool = True) -> Qrels:
        """The split's judgements, every query and (with ``check_docs``) document id checked."""
        if split not in self._qrels:
            path = self.qrels_path(split)
            if not path.is_file():
                raise CkdError(f"{self.path}: no split {split!r} (have: {', '.join(self.splits) or 'none'})")
            docs = self.corpus if check_docs else None
            self._qrels[split] = read_qrels(path, known_queries=self.queries, known_docs=docs)
        return self._qrels[split]

    def split_queries(self, split: str) -> Dict[str, Query]:
        """The queries judged in ``split``, in qrels order."""
        return {qid: self.queries[qid] for qid in self.qrels(split, check_docs=False)}


def resolve_dataset(spec: Union[str, Path], download: bool = True) -> Dataset:
    """Find dataset ``spec``: an existing folder, a folder under ``$PYSERINI_CKD_DATA``, or a BEIR name."""
    path = Path(spec)
    if path.is_dir():
        if not (path / "corpus.jsonl").is_file():
            raise InputError(path, None, "not a BEIR-layout dataset folder (no corpus.jsonl)")
        return Dataset(path)
    root = os.environ.get(DATA_ENV)
    if root and (Path(root) / str(spec) / "corpus.jsonl").is_file():
        return Dataset(Path(root) / str(spec), name=str(spec))
    if download and str(spec) in BEIR_MD5:
        return Dataset(download_beir(str(spec)), name=str(spec))
    where = f"${DATA_ENV}={root}" if root else f"${DATA_ENV} is not set"
    raise CkdError(f"dataset {spec!r} not found: not a folder, not under {where}, and not a public BEIR name")


def load_qrels_spec(spec: str, dataset: Optional[Dataset] = None) -> Qrels:
    """A ``--qrels`` argument: a BEIR tsv or TREC qrels path, or ``DATASET:SPLIT``."""
    if Path(spec).is_file():
        return read_qrels(spec)
    if ":" in spec:
        name, split = spec.rsplit(":", 1)
        return resolve_dataset(name).qrels(split)
    raise InputError(spec, None, "no such qrels file (give a path, or DATASET:SPLIT)")
