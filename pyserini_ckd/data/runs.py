"""TREC run files: ``qid Q0 docid rank score tag``, one hit per line.

Written as Pyserini writes them (scores with six decimals), ranks from 1 in score order, so runs from
pyserini_ckd and from Pyserini evaluate the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from ..atomic import atomic_output
from ..errors import InputError
from .lines import iter_lines
from .records import Run, ScoredDoc


def read_run(path: Union[str, Path]) -> Run:
    """Read a TREC run; each query's hits come back sorted by score (ties by the file's rank)."""
    path = Path(path)
    rows = {}
    for number, line in iter_lines(path):
        parts = line.split()
        if len(parts) != 6:
            raise InputError(path, number, f"expected 6 columns 'qid Q0 docid rank score tag', found {len(parts)}")
        qid, _, docid, rank, score, _tag = parts
        try:
            rank_value, score_value = int(rank), float(score)
        except ValueError:
            raise InputError(path, number, f"rank {rank!r} or score {score!r} is not a number") from None
        hits = rows.setdefault(qid, {})
        if docid in hits:
            raise InputError(path, number, f"document {docid!r} appears twice for query {qid!r}")
        hits[docid] = (rank_value, score_value)
    if not rows:
        raise InputError(path, None, "empty run")
    run: Run = {}
    for qid, hits in rows.items():
        ordered = sorted(hits.items(), key=lambda kv: (-kv[1][1], kv[1][0]))
        run[qid] = [ScoredDoc(docid, score) for docid, (_, score) in ordered]
    return run


def format_run_lines(run: Run, tag: str, max_hits: Optional[int] = None):
    """Yield the TREC lines of ``run`` (hits already in rank order). Scores are written in full
    (the shortest text that reads back as the same float): evaluators order hits by score, so a score
    cut to six decimals can tie two hits that differ (fused scores near 0 do) and change the measures."""
    for qid, hits in run.items():
        for rank, hit in enumerate(hits[:max_hits] if max_hits else hits, 1):
            yield f"{qid} Q0 {hit.docid} {rank} {float(hit.score)!r} {tag}\n"


def write_run(run: Run, path: Union[str, Path], tag: str = "pyserini_ckd", max_hits: Optional[int] = None) -> Path:
    """Write ``run`` atomically as a TREC run file; returns the path."""
    path = Path(path)
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as out:
            out.writelines(format_run_lines(run, tag, max_hits))
    return path
