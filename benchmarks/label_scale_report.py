"""The scaling table, fitted growth, MS MARCO projection and plot from several ``label_scale.py`` results.

    python benchmarks/label_scale_report.py W/10k/label_scale.json W/100k/label_scale.json W/1m/label_scale.json \\
        [--plot docs/experiments/label_scale.png] [--queries 500000] [--passages 8800000] [--searches 2]

Fits cost = a * passages^b (least squares in log-log) to the build seconds, the disk, and the milliseconds
a query of each path, and projects them to ``--passages`` (MS MARCO: 8.8 M). Labelling a query with
ColBERT-PRF runs ``--searches`` first-stage searches (the first ranking, then the expanded query's) plus
the candidates' scoring (small beside them), so hours = queries x searches x ms / 3.6e6, on this CPU with
one process and, split by ``torchrun`` over N processes (the queries are independent), divided by N.
Prints a Markdown table and the projection; writes the plot (log-log, cost against passages).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def fit(x, y):
    """(a, b) of y = a x^b, least squares on logs (None where fewer than two positive points)."""
    pts = [(u, v) for u, v in zip(x, y) if v]
    if len(pts) < 2:
        return None
    b, log_a = np.polyfit(np.log([u for u, _ in pts]), np.log([v for _, v in pts]), 1)
    return float(np.exp(log_a)), float(b)


def headline(result: dict) -> dict:
    """The approximate row a size is shown and fitted with: the row of this code's defaults sized to the
    collection (:meth:`Approximate.sized`) where the result measured it, else the row its own top-level figures
    come from (``approx_settings``: the defaults of the code that ran it), else its first row."""
    from label_scale import setting_row
    from pyserini_ckd.teacher.centroid_index import Approximate

    d = Approximate().sized(result["passages"])
    s = result.get("approx_settings") or {}
    return (setting_row(result["approx"], d.ncells, d.ndocs, d.nexact, d.ndecompress or None)
            or setting_row(result["approx"], s.get("ncells"), s.get("ndocs"), s.get("nexact")) or result["approx"][0])


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("results", type=Path, nargs="+")
    p.add_argument("--plot", type=Path)
    p.add_argument("--passages", type=int, default=8_800_000)
    p.add_argument("--queries", type=int, default=500_000)
    p.add_argument("--searches", type=int, default=2)
    args = p.parse_args(argv)
    rows = sorted((json.loads(f.read_text()) for f in args.results), key=lambda r: r["passages"])
    print("| passages | token vectors | build s (index + centres) | peak RSS GB | peak anonymous GB | disk GB | ms/query exact "
          "| approx: ncells / ndocs / nexact | ms/query approx | approx top 100 vs exact (min) | planted first (exact / approx) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    heads = [headline(r) for r in rows]
    for r, a in zip(rows, heads):
        print(f"| {r['passages']:,} | {r['token_vectors'] / 1e6:.2f} M | {r['index_seconds']:.0f} + {r['ivf_seconds']:.0f} | "
              f"{r['peak_rss_gb']} | {r.get('peak_anon_gb', 'n/a')} | {r['disk_gb']:.2f} | {r['ms_per_query_exact'] or 'n/a'} | "
              f"{a['ncells']} / {a['ndocs']:,} / {a['nexact']:,} | {a['ms_per_query']} | "
              f"{a['recall@100']} ({a['recall@100_min']}) | {r['planted_first']['exact']}, {a['planted_first']} |")
    n = [r["passages"] for r in rows]
    series = {"build_seconds": [r["build_seconds"] for r in rows], "disk_gb": [r["disk_gb"] for r in rows],
              "ms_per_query_exact": [r["ms_per_query_exact"] for r in rows],
              "ms_per_query_approx": [a["ms_per_query"] for a in heads]}
    fits = {k: fit(n, v) for k, v in series.items()}
    projection = {k: (round(f[0] * args.passages ** f[1], 1) if f else None) for k, f in fits.items()}
    hours = {k: round(args.queries * args.searches * projection[k] / 3.6e6, 1) if projection[k] else None
             for k in ("ms_per_query_exact", "ms_per_query_approx")}
    out = {"fits": {k: {"a": f[0], "exponent": round(f[1], 3)} if f else None for k, f in fits.items()},
           "projection": {"passages": args.passages, **projection, "labelling_hours_one_process": hours,
                          "labelling_hours_8_processes": {k: round(v / 8, 1) if v else None for k, v in hours.items()}}}
    print()
    for k, f in fits.items():
        if f:
            print(f"{k}: ~ passages^{f[1]:.2f}; at {args.passages:,}: {projection[k]:,}")
    print(f"labelling {args.queries:,} queries x {args.searches} searches at {args.passages:,} passages, one process here: "
          f"exact {hours['ms_per_query_exact']} h, approximate {hours['ms_per_query_approx']} h (N processes: / N)")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        grid = np.geomspace(min(n), args.passages, 50)
        for k, label in (("ms_per_query_exact", "exact ms/query"), ("ms_per_query_approx", "approximate ms/query"),
                         ("build_seconds", "build s")):
            pts = [(u, v) for u, v in zip(n, series[k]) if v]
            line = ax.plot([u for u, _ in pts], [v for _, v in pts], "o", label=label)[0]
            if fits[k]:
                ax.plot(grid, fits[k][0] * grid ** fits[k][1], "--", color=line.get_color(), linewidth=1)
        ax.axvline(args.passages, color="grey", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("passages (dashed: fitted power law; grey: MS MARCO)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
