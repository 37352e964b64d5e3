"""Build a Lucene BM25 index of a corpus through Pyserini, as Pyserini's BEIR "flat" indexes are built.

Each document is indexed with ``contents = title + " " + text`` (Anserini's BeirFlatCollection), with
positions, document vectors and the raw document stored (``-storePositions -storeDocvectors
-storeRaw``), using the default English analyser (Porter stemming, stopwords).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List

from tqdm import tqdm

from ..atomic import atomic_output
from ..data.records import Document
from ..errors import CkdError, first_line, require_positive
from ..java import ensure_pyserini_ready

logger = logging.getLogger(__name__)


@dataclass
class IndexConfig:
    """Settings of ``python -m pyserini_ckd.index``."""

    index: Path
    threads: int = 1
    batch_size: int = 1000

    def __post_init__(self) -> None:
        self.index = Path(self.index)
        require_positive(self, "threads", "batch_size", dashed=False)


def build_bm25_index(documents: Iterable[Document], config: IndexConfig, total: int = None) -> int:
    """Index ``documents`` into ``config.index``; returns the number indexed.

    The index is built in a temporary folder beside the target and renamed only when complete, so a
    failed or interrupted build leaves no index behind.
    """
    ensure_pyserini_ready()
    from pyserini.index.lucene import LuceneIndexer

    count = empty = 0
    with atomic_output(config.index, directory=True) as tmp:
        args: List[str] = ["-index", str(tmp), "-storePositions", "-storeDocvectors", "-storeRaw"]
        indexer = LuceneIndexer(args=args, threads=config.threads)
        try:
            batch: List[str] = []
            with tqdm(total=total, unit="doc", desc="bm25 index") as bar:
                for doc in documents:
                    empty += not doc.contents.strip()  # Anserini's indexer skips a document with no text
                    batch.append(json.dumps({"id": doc.docid, "contents": doc.contents}))
                    if len(batch) >= config.batch_size:
                        indexer.add_batch_raw(batch)
                        count += len(batch)
                        bar.update(len(batch))
                        batch = []
                if batch:
                    indexer.add_batch_raw(batch)
                    count += len(batch)
                    bar.update(len(batch))
        finally:
            indexer.close()
        _check_complete(tmp, count - empty)
    if empty:
        logger.warning("%d document(s) with no text are not in the BM25 index (no query term can match them)", empty)
    logger.info("indexed %d documents into %s", count - empty, config.index)
    return count - empty


def _check_complete(index: Path, expected: int) -> None:
    """Open the finished index and count its documents. Anserini's indexer logs a failed write (a full disk,
    say) and carries on, so without this check a broken index would be renamed into place as complete."""
    from pyserini.index.lucene import LuceneIndexReader

    try:
        found = int(LuceneIndexReader(str(index)).stats()["documents"])
    except Exception as exc:  # noqa: BLE001 -- an unreadable index is what this check is for
        found, detail = -1, first_line(exc)
    else:
        detail = f"{found} of {expected} documents"
    if found == expected:
        return
    if shutil.disk_usage(index).free < (1 << 20):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(index.parent))
    raise CkdError(f"{index}: the Lucene index came out incomplete ({detail}); see the indexer's log above")
