"""Labelling in shards and in pieces: several processes (``torchrun``), and a killed run that continues.

Query i of the ordered query list goes to rank i mod W (W processes). Each rank appends one line per
labelled query to ``OUTPUT.parts/part-R-of-W.jsonl``, flushed as it goes:
``{"qid", "record": LABELS_LINE, "ranking": [[docid, score], ...], "seconds": {stage: s}}``. A rerun with
the same W reads its part, drops a torn last line, and labels only the queries that are not in it. When
every rank is done (a barrier), rank 0 writes the labels file in the query list's order from the parts
(the same bytes a single process writes: every query is labelled independently of the others), the ranking
and the meta (stage seconds summed over ranks), then removes the parts. Ranks meet through
``torch.distributed`` (gloo): on one machine or across nodes with torchrun's rendezvous.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Dict, Iterator, List, Sequence, Tuple


def rank_and_world() -> Tuple[int, int]:
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


class Group:
    """The processes of one labelling run (a no-op for a single process)."""

    def __init__(self) -> None:
        self.rank, self.world = rank_and_world()
        self.dist = None
        if self.world > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group(backend="gloo")
            self.dist = dist

    def barrier(self) -> None:
        if self.dist is not None:
            self.dist.barrier()

    def close(self) -> None:
        if self.dist is not None and self.dist.is_initialized():
            self.dist.destroy_process_group()


def my_share(qids: Sequence[str], rank: int, world: int) -> List[str]:
    return [q for i, q in enumerate(qids) if i % world == rank]


class Part:
    """One rank's labelled queries, one line each, appended as they are done."""

    def __init__(self, parts_dir: Path, rank: int, world: int) -> None:
        self.path = Path(parts_dir) / f"part-{rank}-of-{world}.jsonl"

    def done(self) -> Dict[str, dict]:
        """The queries already labelled ({qid: entry}); a torn last line (a kill mid-write) is cut off."""
        if not self.path.is_file():
            return {}
        entries: Dict[str, dict] = {}
        good = 0
        with open(self.path, "rb") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    break
                if not line.endswith(b"\n"):
                    break
                entries[entry["qid"]] = entry
                good += len(line)
        if good < self.path.stat().st_size:
            with open(self.path, "r+b") as f:
                f.truncate(good)
        return entries

    def discard_if_empty(self) -> None:
        """Remove this part if it holds no finished query, and the parts folder if nothing else is in it."""
        try:
            if self.path.is_file() and not self.done():
                self.path.unlink()
            self.path.parent.rmdir()
        except OSError:
            pass

    def appender(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return open(self.path, "a", encoding="utf-8")

    @staticmethod
    def line(qid: str, record_json: str, ranking, seconds: Dict[str, float]) -> str:
        return json.dumps({"qid": qid, "record": record_json, "ranking": [[d, float(s)] for d, s in ranking],
                           "seconds": seconds}) + "\n"


def read_parts(parts_dir: Path, world: int) -> Dict[str, dict]:
    out: Dict[str, dict] = {}
    for rank in range(world):
        out.update(Part(parts_dir, rank, world).done())
    return out


def ordered(entries: Dict[str, dict], qids: Sequence[str]) -> Iterator[dict]:
    missing = [q for q in qids if q not in entries]
    if missing:
        raise RuntimeError(f"{len(missing)} queries missing from the parts (first {missing[0]!r})")
    for q in qids:
        yield entries[q]


def remove_parts(parts_dir: Path) -> None:
    shutil.rmtree(parts_dir, ignore_errors=True)
