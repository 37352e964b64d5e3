"""Write a dataset in BEIR layout (``corpus.jsonl``, ``queries.jsonl``, ``qrels/SPLIT.tsv``), atomically.

What :mod:`.corpus`, :mod:`.topics` and :mod:`.qrels` read back unchanged (a property test checks it):
use it to bring a collection of your own into the layout every command here reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Mapping, Union

from ..atomic import atomic_output
from .qrels import beir_qrels_text
from .records import Document, Qrels, Query


def write_beir(folder: Union[str, Path], documents: Iterable[Document], queries: Iterable[Query],
               qrels: Mapping[str, Qrels]) -> Path:
    """Write the corpus, the queries and one qrels file per split (``{split: qrels}``)."""
    folder = Path(folder)
    with atomic_output(folder, directory=True) as tmp:
        with open(tmp / "corpus.jsonl", "w", encoding="utf-8") as out:
            for d in documents:
                out.write(json.dumps({"_id": d.docid, "title": d.title, "text": d.text, "metadata": {}}, ensure_ascii=False) + "\n")
        with open(tmp / "queries.jsonl", "w", encoding="utf-8") as out:
            for q in queries:
                out.write(json.dumps({"_id": q.qid, "text": q.text, "metadata": {}}, ensure_ascii=False) + "\n")
        (tmp / "qrels").mkdir()
        for split, judged in qrels.items():
            (tmp / "qrels" / f"{split}.tsv").write_text(beir_qrels_text(judged), encoding="utf-8")
    return folder
