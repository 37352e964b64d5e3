"""A fixed held-out slice of training queries (for judging teachers and picking settings, never test).

A query is held out when crc32("holdout:SEED:QID") / 2^32 < fraction: the same queries for every model
and run with the same seed, whatever the file order.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import List, Sequence, Set, Tuple, Union

from ..atomic import atomic_output
from ..data.qrels import beir_qrels_text
from ..data.records import Qrels


def is_held_out(qid: str, fraction: float, seed: int) -> bool:
    return zlib.crc32(f"holdout:{seed}:{qid}".encode()) / 2 ** 32 < fraction


def split_holdout(examples: Sequence, fraction: float, seed: int) -> Tuple[List, Set[str]]:
    kept = [e for e in examples if not is_held_out(e.qid, fraction, seed)]
    held = {e.qid for e in examples if is_held_out(e.qid, fraction, seed)}
    return kept, held


def limit_queries(examples: Sequence, n: int, seed: int) -> List:
    """At most ``n`` examples, chosen by the hash order of their query ids (the same for every model)."""
    if n is None or n >= len(examples):
        return list(examples)
    ranked = sorted(examples, key=lambda e: zlib.crc32(f"limit:{seed}:{e.qid}".encode()))
    keep = {e.qid for e in ranked[:n]}
    return [e for e in examples if e.qid in keep]


def write_holdout_qrels(qrels: Qrels, held: Set[str], path: Union[str, Path]) -> Path:
    with atomic_output(path) as tmp:
        tmp.write_text(beir_qrels_text({qid: docs for qid, docs in qrels.items() if qid in held}))
    return Path(path)
