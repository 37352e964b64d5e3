"""The teacher's token index at scale, on synthetic token vectors: build, memory, disk, exact vs approximate search.

    python benchmarks/label_scale.py --passages N --workdir W [--queries 20] [--exact-queries 20] \
        [--ncells 16] [--ndocs auto] [--nexact auto] [--noise 0.08] [--query-seed 1] [--dev-seed 2] \
        [--centroids K] [--ndecompress none N ...] [--residual-bits 2] [--cold] [--keep | --reuse --output F]
    python benchmarks/label_scale.py --calibrate INDEX     # the noise that matches a real teacher index

No model is needed. Each passage gets a length drawn from a log-normal (median 60 tokens, cut to 8..180,
MS MARCO passages under ColBERT's 180-token limit) and, per token, a vocabulary id from a Zipf law over
30,000 ids; its vector is that id's random unit centre plus Gaussian noise (``--noise`` a dimension,
renormalised). The default 0.08 puts a vector at cosine 0.74 from its id's mean direction, as measured on
the teacher index of SciFact (``--calibrate``: the token-weighted mean over ids seen 5 times or more; 0.744
for the quick profile's teacher, against 0.245 for the 0.35 used before, which made the vectors nearly
random). 128 dimensions, float16 on disk, written through the streaming
:class:`~pyserini_ckd.teacher.token_index.TokenIndexWriter`. Each query plants one passage: its 32 vectors
are the centres of 32 of the passage's tokens (drawn with replacement) with fresh noise, the same terms in
other contexts, so the planted passage should rank first. ``--query-seed`` draws another query set (the
settings were chosen on seed 2; the figures are for seed 1).

Measured, in one process: index build seconds (vectors written), the approximate first stage's build
seconds (k-means centres and inverted lists, :func:`~pyserini_ckd.teacher.centroid_index.build_centroid_index`),
peak resident memory, disk, milliseconds a query for exact search (all documents, streamed from disk past
2 M vectors; on ``--exact-queries`` queries, null with 0) and for the approximate one (centroid interaction,
the best ``--nexact`` of ``--ndocs`` documents re-scored exactly from disk), the recall of the approximate
top 100 against the exact top 100, and how often each finds the planted passage first. ``--ncells``,
``--ndocs`` and ``--nexact`` take several values: every combination is measured (the default settings, sized
to N by :meth:`~pyserini_ckd.teacher.centroid_index.Approximate.sized`, fill the top-level fields where they
were measured, else the first combination; ``auto`` is the sized value). ``--dev-seed S`` sweeps the same settings on a second query set drawn with seed S as well
(``dev`` in the output: choose settings there, report ``--query-seed``'s), so one build serves both.
Each setting also says where the exact top 100 is lost (on the exactly searched queries): the share of it
still among the ``ndocs`` after the pruned centroid interaction (``exact_top100_in_ndocs``) and among the
``nexact`` after the full one (``exact_top100_in_nexact``, an upper bound of the recall). ``--centroids``
overrides the k-means centre count. ``--ndecompress`` (several values, ``none`` for no such stage, ``auto`` sized
to ``ndocs``, the default: none below 32,768) puts PLAID's decompression stage between the full interaction and the exact scoring: the full interaction keeps
that many documents, their MaxSim from ``--residual-bits`` residual codes (built once into ``ivf/residuals/``)
picks the ``nexact`` scored exactly (``exact_top100_in_ndecompress``: the share of the exact top 100 the full
interaction kept). ``--cold`` drops the index's files from the page cache before each setting, so each is read
from disk as at a collection the page cache cannot hold. ``--keep`` leaves the index in W; ``--reuse`` then searches it again
with other settings or queries without building it (its build figures copied, the results to ``--output``).
``exact_margins`` says, per exactly searched query, how crowded the exact ranking is at rank 100; ``storage_read_gb_per_query``, per setting, what its searches made the kernel read from disk (page-cache hits not counted). The exact rankings of a kept index are kept beside it (``exact-seedS.json``), so ``--reuse`` does not scan again. ``peak_rss_gb`` counts the touched pages of the memory-mapped vectors
too; ``peak_anon_gb`` is the anonymous memory alone (sampled every 0.2 s), and ``peak_anon_gb_by_phase`` the
same for writing the vectors (this benchmark's generator: 10,000 passages of float32 at a time), building the
centres and lists, and searching. Writes ``W/label_scale.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np

DIM, VOCAB, QUERY_LEN = 128, 30000, 32


def synthetic_index(path: Path, passages: int, noise: float = 0.08, seed: int = 0):
    from pyserini_ckd.teacher.token_index import TokenIndexWriter

    rng = np.random.default_rng(seed)
    centres = unit_centres(seed)
    zipf = 1.0 / np.arange(1, VOCAB + 1) ** 1.05
    zipf /= zipf.sum()
    writer = TokenIndexWriter(path, DIM, VOCAB)
    for start in range(0, passages, 10000):
        n = min(10000, passages - start)
        lengths = np.clip(np.round(rng.lognormal(np.log(60), 0.5, n)), 8, 180).astype(np.int64)
        ids = rng.choice(VOCAB, size=int(lengths.sum()), p=zipf)
        vecs = centres[ids] + noise * rng.standard_normal((len(ids), DIM)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        for i in range(n):
            writer.add(f"p{start + i}", vecs[bounds[i]:bounds[i + 1]], ids[bounds[i]:bounds[i + 1]])
    return writer.close({"teacher": "synthetic", "similarity": "cosine", "corpus_fingerprint": "", "teacher_fingerprint": ""})


def unit_centres(seed: int = 0) -> np.ndarray:
    centres = np.random.default_rng(seed).standard_normal((VOCAB, DIM)).astype(np.float32)
    return centres / np.linalg.norm(centres, axis=1, keepdims=True)


def planted_queries(index, count: int, noise: float = 0.08, seed: int = 1):
    import torch

    rng = np.random.default_rng(seed)
    centres = unit_centres()
    out = []
    for target in rng.choice(index.num_docs, count, replace=False):
        lo, hi = int(index.offsets[target]), int(index.offsets[target + 1])
        ids = np.asarray(index.token_ids[lo + rng.integers(0, hi - lo, QUERY_LEN)])
        rows = centres[ids] + noise * rng.standard_normal((QUERY_LEN, DIM)).astype(np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        out.append((int(target), torch.from_numpy(rows)))
    return out


def calibrate(index_dir: Path) -> dict:
    """Token-weighted mean cosine of a real index's vectors to their vocabulary id's mean direction (ids seen
    5 times or more), and the noise a dimension that gives the same cosine here: 1 / sqrt(1 + 128 sigma^2)."""
    from pyserini_ckd.teacher.token_index import TokenIndex

    index = TokenIndex.load(index_dir)
    vectors = index.read_rows(0, index.tokens.shape[0])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.asarray(index.token_ids)
    order = np.argsort(ids, kind="stable")
    starts = np.flatnonzero(np.r_[True, ids[order][1:] != ids[order][:-1]])
    total = weight = 0.0
    for lo, hi in zip(starts, np.r_[starts[1:], len(ids)]):
        if hi - lo >= 5:
            rows = vectors[order[lo:hi]]
            centre = rows.mean(0) / np.linalg.norm(rows.mean(0))
            total += float((rows @ centre).sum())
            weight += hi - lo
    cosine = total / weight
    return {"index": str(index_dir), "token_vectors": int(len(ids)), "cosine_to_id_centre": round(cosine, 4),
            "noise": round(float(np.sqrt((1 / cosine ** 2 - 1) / index.tokens.shape[1])), 4)}


def storage_read_bytes():
    """Bytes this process has made the kernel read from storage (``read_bytes`` in /proc/self/io: page-cache hits
    and readahead already cached are not counted); None off Linux."""
    try:
        return next(int(l.split()[1]) for l in Path("/proc/self/io").read_text().splitlines() if l.startswith("read_bytes:"))
    except (OSError, StopIteration):
        return None


class AnonPeak:
    """The peak of the process's anonymous resident memory (``RssAnon`` in /proc/self/status, sampled every
    0.2 s): what it holds, without the pages of memory-mapped files that ``ru_maxrss`` also counts. None off Linux."""

    def __init__(self) -> None:
        import threading

        self.peak_kb, self.phase_kb, self.phases, self._stop = None, None, {}, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        status = Path("/proc/self/status")
        while not self._stop.is_set():
            try:
                kb = next(int(l.split()[1]) for l in status.read_text().splitlines() if l.startswith("RssAnon:"))
            except (OSError, StopIteration):
                return
            self.peak_kb = max(self.peak_kb or 0, kb)
            self.phase_kb = max(self.phase_kb or 0, kb)
            self._stop.wait(0.2)

    def phase(self, name: str) -> None:
        """Close a phase: its peak (GB) goes to ``phases[name]`` and the next phase's peak starts afresh."""
        self.phases[name] = round(self.phase_kb / 1e6, 2) if self.phase_kb is not None else None
        self.phase_kb = None

    def gb(self):
        self._stop.set()
        self._thread.join()
        return round(self.peak_kb / 1e6, 2) if self.peak_kb is not None else None


def folder_gb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e9


def margins(ranked: np.ndarray) -> dict:
    """How crowded the exact ranking is at rank 100: the scores at ranks 1, 100 and 1,000 and how many documents
    score within 1% of the 100th (a boundary a coarser score cannot resolve when they are many)."""
    at = lambda r: round(float(ranked[min(r, len(ranked)) - 1]), 3)  # noqa: E731
    s100 = float(ranked[min(100, len(ranked)) - 1])
    return {"score@1": at(1), "score@100": at(100), "score@1000": at(1000),
            "within_1pct_of_100th": int(np.sum(np.abs(ranked - s100) <= 0.01 * abs(s100)))}


def setting_row(rows, ncells: int, ndocs: int, nexact: int, ndecompress=None):
    """The row of ``rows`` measured with these settings, None where none was."""
    return next((r for r in rows if (r["ncells"], r["ndocs"], r["nexact"], r.get("ndecompress"))
                 == (ncells, ndocs, nexact, ndecompress)), None)


def sweep(index, args, seed: int):
    """Exact search for the first --exact-queries planted queries of ``seed``, then every approximate setting on all
    of them; recall@100 of a setting is |approx top 100 ∩ exact top 100| / 100 averaged over the exactly searched."""
    from pyserini_ckd.teacher.centroid_index import Approximate

    queries = planted_queries(index, args.queries, args.noise, seed)
    ivf = index.centroid_index()
    exact, exact_sum, exact_ms, planted_exact, ties = {}, {}, [], 0, []
    # the exact rankings are kept beside a kept index: a --reuse run reads them instead of scanning again
    cache = Path(index.path) / f"exact-seed{seed}.json"
    cached = {int(k): v for k, v in json.loads(cache.read_text()).items()} if cache.exists() else {}
    for target, q in queries[:args.exact_queries]:
        if target not in cached:
            t = time.perf_counter()
            scores = index.maxsim_all(q).numpy()  # what index.search(q, 100) ranks, kept whole for the margins
            order = np.lexsort((np.arange(len(scores)), -scores))
            cached[target] = {"top100": order[:100].tolist(), "ms": 1000 * (time.perf_counter() - t),
                              "sum": float(scores[order[:100]].sum()), "margins": margins(scores[order])}
            cache.write_text(json.dumps(cached))
        exact[target] = cached[target]["top100"]
        exact_ms.append(cached[target]["ms"])
        exact_sum[target] = cached[target]["sum"]
        ties.append(cached[target]["margins"])
        planted_exact += exact[target][0] == target
    rows = []
    for ncells, ndocs, nexact, ndecompress in itertools.product(args.ncells, args.ndocs, args.nexact, args.ndecompress):
        settings = Approximate(ncells=ncells, ndocs=ndocs, nexact=nexact, ndecompress=ndecompress,
                               residual_bits=args.residual_bits).sized(index.num_docs)
        ncells, ndocs, nexact = settings.ncells, settings.ndocs, settings.nexact
        ndecompress = settings.ndecompress or None  # None: no such stage, as in earlier results
        if (nexact > ndocs or setting_row(rows, ncells, ndocs, nexact, ndecompress) is not None
                or (ndecompress is not None and not nexact < ndecompress <= ndocs)):
            continue
        if ndecompress is not None:
            index.residual_codes(args.residual_bits)
        if args.cold:
            res = ivf.residuals
            evict(Path(index.path), index.tokens, ivf.tokens, ivf.docs, ivf.codes,
                  res.rows if res is not None else None, res.lists if res is not None else None)
        ms, recalls, planted, kept_share, full_share, pool_share, score_ratio = [], [], 0, [], [], [], []
        read_before = storage_read_bytes()
        for target, q in queries:
            t = time.perf_counter()  # index.search(q, 100, approximate=settings), its stages kept
            kept, full_kept, pool = ivf.stages(q, None, settings)
            hits = index.rescore(q, pool, 100)
            ms.append(1000 * (time.perf_counter() - t))
            found = [d for d, _ in hits]
            planted += bool(found) and found[0] == target
            if target in exact:
                truth = set(exact[target])
                recalls.append(len(set(found) & truth) / len(truth))
                score_ratio.append(sum(v for _, v in hits) / exact_sum[target])
                kept_share.append(len(truth.intersection(kept.tolist())) / len(truth))
                full_share.append(len(truth.intersection(full_kept.tolist())) / len(truth))
                pool_share.append(len(truth.intersection(pool.tolist())) / len(truth))
        read = storage_read_bytes()
        mean = lambda xs: round(float(np.mean(xs)), 4) if xs else None  # noqa: E731
        rows.append({"ncells": ncells, "ndocs": ndocs, "nexact": nexact, "ndecompress": ndecompress,
                     "residual_bits": args.residual_bits if ndecompress is not None else None,
                     "exact_top100_in_ndecompress": mean(full_share) if ndecompress is not None else None,
                     "ms_per_query": round(float(np.mean(ms)), 1),
                     "recall@100": mean(recalls), "recall@100_min": round(float(np.min(recalls)), 4) if recalls else None,
                     # where the exact top 100 is lost: share still among the ndocs after the pruned interaction,
                     # and among the nexact scored exactly after the full one (recall@100 can only be lower)
                     "exact_top100_in_ndocs": mean(kept_share), "exact_top100_in_nexact": mean(pool_share),
                     # sum of the approximate top 100's exact scores over the exact top 100's (1: as good a top 100)
                     "score_ratio@100": round(float(np.mean(score_ratio)), 5) if score_ratio else None,
                     "planted_first": f"{planted}/{len(queries)}",
                     # read from storage a query (0 where the vectors sit in the page cache; under a memory cap the
                     # candidates' vectors are read again each time)
                     "storage_read_gb_per_query": round((read - read_before) / 1e9 / len(queries), 3) if read is not None else None})
    return exact_ms, planted_exact, rows, ties


def reuse(index_dir: Path, args):
    """The kept index of an earlier run, and that run's build seconds (index, centres)."""
    from pyserini_ckd.teacher.centroid_index import CentroidIndex
    from pyserini_ckd.teacher.token_index import TokenIndex

    earlier = args.workdir / "label_scale.json"
    if not CentroidIndex.exists(index_dir) or not earlier.exists():
        raise SystemExit(f"{index_dir}: no kept index with its centres and {earlier.name} (run once with --keep)")
    built = json.loads(earlier.read_text())
    if built["passages"] != args.passages or built["noise"] != args.noise:
        raise SystemExit(f"{earlier}: built for {built['passages']} passages at noise {built['noise']}")
    return TokenIndex.load(index_dir), built["index_seconds"], built["ivf_seconds"]


def evict(folder: Path, *arrays) -> None:
    """Drop every file of ``folder`` from the page cache (``POSIX_FADV_DONTNEED``; written pages are synced first),
    after this process's mappings of ``arrays`` let go of their pages (``MADV_DONTNEED``: a mapped page is not evicted)."""
    import mmap
    import os

    from pyserini_ckd.teacher.token_index import _mapping

    for array in arrays:
        mapped = _mapping(array) if array is not None else None
        if mapped is not None and hasattr(mmap, "MADV_DONTNEED"):
            mapped.madvise(mmap.MADV_DONTNEED)
    os.sync()
    for f in folder.rglob("*"):
        if f.is_file():
            fd = os.open(f, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def none_or_int(text: str):
    """0 for ``none`` (no decompression stage), None for ``auto`` (sized to ``ndocs``), else a positive int."""
    return 0 if text == "none" else None if text == "auto" else int(text)


def auto_or_int(text: str):
    """None for ``auto`` (sized to the collection), else a positive int."""
    return None if text == "auto" else int(text)


def main(argv=None) -> dict:
    from pyserini_ckd.teacher.centroid_index import Approximate, build_centroid_index

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--passages", type=int)
    p.add_argument("--workdir", type=Path)
    p.add_argument("--calibrate", type=Path, metavar="INDEX", help="print the noise matching a real teacher index, and stop")
    p.add_argument("--queries", type=int, default=20)
    p.add_argument("--exact-queries", type=int, default=20, help="queries searched exactly (0: skip exact search)")
    p.add_argument("--ncells", type=int, nargs="+", default=[Approximate.ncells])
    p.add_argument("--ndocs", type=auto_or_int, nargs="+", default=[None], help="auto: sized to N (the default)")
    p.add_argument("--nexact", type=auto_or_int, nargs="+", default=[None], help="auto: sized to ndocs (the default)")
    p.add_argument("--ndecompress", type=none_or_int, nargs="+", default=[None],
                   help="documents scored from residual codes between the full interaction and the exact scoring "
                        "(none: no such stage; auto: sized to ndocs, the default; the codes are built on first use)")
    p.add_argument("--residual-bits", type=int, default=2, help="bits a dimension of the residual codes")
    p.add_argument("--cold", action="store_true", help="drop the index's files from the page cache before each setting")
    p.add_argument("--noise", type=float, default=0.08)
    p.add_argument("--centroids", type=int, help="k-means centres (default: default_centroids of the token count)")
    p.add_argument("--query-seed", type=int, default=1)
    p.add_argument("--dev-seed", type=int, help="also sweep the settings on queries of this seed (choose on these, report --query-seed)")
    p.add_argument("--keep", action="store_true", help="keep the index folder (default: removed after measuring)")
    p.add_argument("--output", type=Path, help="where the results go (default: W/label_scale.json)")
    p.add_argument("--reuse", action="store_true",
                   help="search the index a --keep run left in --workdir (its build figures are copied from its label_scale.json)")
    args = p.parse_args(argv)
    if args.calibrate:
        result = calibrate(args.calibrate)
        print(json.dumps(result, indent=1))
        return result
    if not args.passages or not args.workdir:
        p.error("--passages and --workdir are required")
    index_dir = args.workdir / f"tokens-{args.passages}"
    anon = AnonPeak()
    if args.reuse:  # a kept index and its centres, as a run with --keep left them: search only
        index, build, ivf_build = reuse(index_dir, args)
        ivf = index.centroid_index(build=False)
    else:
        if index_dir.exists():
            shutil.rmtree(index_dir)
        started = time.perf_counter()
        index = synthetic_index(index_dir, args.passages, args.noise)
        build = time.perf_counter() - started
        anon.phase("vectors")
        started = time.perf_counter()
        ivf = build_centroid_index(index, centroids=args.centroids)
        ivf_build = time.perf_counter() - started
        anon.phase("centres")
    exact_ms, planted_exact, rows, ties = sweep(index, args, args.query_seed)
    dev = sweep(index, args, args.dev_seed)[2] if args.dev_seed is not None else None
    anon.phase("search")
    default = Approximate().sized(index.num_docs)
    head = setting_row(rows, default.ncells, default.ndocs, default.nexact, default.ndecompress or None) or rows[0]
    result = {
        "passages": args.passages, "token_vectors": int(index.tokens.shape[0]), "dim": DIM, "noise": args.noise,
        "build_seconds": round(build + ivf_build, 1), "index_seconds": round(build, 1), "ivf_seconds": round(ivf_build, 1),
        "reused": bool(args.reuse),
        "centroids": ivf.meta["centroids"], "streamed_exact": index.streamed,
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "peak_anon_gb": anon.gb(), "peak_anon_gb_by_phase": anon.phases,
        "disk_gb": round(folder_gb(index_dir), 3), "ivf_disk_gb": round(folder_gb(index_dir / "ivf"), 3),
        "ms_per_query_exact": round(float(np.mean(exact_ms)), 1) if exact_ms else None,
        "approx_settings": {"ncells": head["ncells"], "ndocs": head["ndocs"], "nexact": head["nexact"],
                            "ndecompress": head["ndecompress"],
                            "default": head["ndocs"] == default.ndocs and head["nexact"] == default.nexact
                            and head["ncells"] == default.ncells and head["ndecompress"] == (default.ndecompress or None)},
        "ms_per_query_approx": head["ms_per_query"],
        "recall@100_approx_vs_exact": head["recall@100"],
        "planted_first": {"exact": f"{planted_exact}/{len(exact_ms)}", "approx": head["planted_first"]},
        "queries": {"exact": len(exact_ms), "approx": args.queries, "seed": args.query_seed},
        "approx": rows, "exact_margins": ties,
    }
    if dev is not None:
        result["dev"] = {"seed": args.dev_seed, "approx": dev}
    args.workdir.mkdir(parents=True, exist_ok=True)
    (args.output or args.workdir / "label_scale.json").write_text(json.dumps(result, indent=1))
    if not args.keep and not args.reuse:
        shutil.rmtree(index_dir)
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
