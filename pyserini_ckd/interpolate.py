"""``python -m pyserini_ckd.interpolate``: a dense model part of the way back to the one it was trained from.

    theta = (1 - lambda) theta_0 + lambda theta       (pyserini_ckd.training.interpolation)

    python -m pyserini_ckd.interpolate --start minilm --model W/student --output W/student-wise --lambda 0.5
    python -m pyserini_ckd.interpolate --start minilm --model W/student --output W/student-wise \\
        --dataset DATA --qrels W/qrels-dev.tsv [--lambdas 0 0.25 0.5 0.75 1] [--unseen-from DATA:train] [--rerank RUN]

With ``--qrels`` (held-out training queries, never test) lambda is chosen from the grid by nDCG@10 of exact
dense search over the corpus; ``--unseen-from`` keeps only the held-out queries none of whose relevant
passages is relevant to a query of that split (the fusion tuning's unseen slice). The output folder is a
dense model folder (the trained model's settings, log and card, plus ``interpolation.json`` with lambda and
the grid).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path
from typing import Optional, Sequence

from .cli import run_cli
from .errors import ConfigError

logger = logging.getLogger(__name__)

COPIED = ("train_config.json", "train_log.jsonl", "loss.png")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--start", required=True, help="the model training started from (theta_0; a folder or 'minilm')")
    p.add_argument("--model", required=True, help="the trained dense model folder (theta)")
    p.add_argument("--output", type=Path, required=True, help="dense model folder to write")
    p.add_argument("--lambda", dest="lam", type=float, help="a fixed lambda in [0, 1]")
    p.add_argument("--lambdas", type=float, nargs="+", help="the grid to choose from (default 0 0.25 0.5 0.75 1)")
    p.add_argument("--dataset", help="with --qrels: the corpus and queries")
    p.add_argument("--qrels", help="held-out queries' qrels to choose lambda on (file or DATASET:SPLIT; never test)")
    p.add_argument("--unseen-from", help="keep only held-out queries whose relevant passages this qrels spec never marks")
    p.add_argument("--rerank", type=Path, help="with --qrels: judge each lambda by re-ranking this run's top --depth "
                                               "documents of the held-out queries (the trainer's model selection) "
                                               "instead of searching the whole corpus")
    p.add_argument("--depth", type=int, default=30, help="with --rerank: candidates per query")
    p.add_argument("--device", default="cpu")
    return p


def _run(args: argparse.Namespace) -> None:
    from .atomic import prepare_parent
    from .data.datasets import load_qrels_spec, resolve_dataset
    from .dense.encoder import DenseEncoder
    from .training.interpolation import DEFAULT_GRID, choose_lambda, interpolated_model

    if (args.lam is None) == (args.qrels is None):
        raise ConfigError("give either --lambda or --qrels (with --dataset) to choose it on held-out queries")
    if args.qrels and not args.dataset:
        raise ConfigError("--qrels needs --dataset")
    if args.qrels and ":" in args.qrels and args.qrels.rsplit(":", 1)[1].startswith("test"):
        raise ConfigError(f"--qrels {args.qrels}: lambda is chosen on held-out training queries, never on a test split")
    prepare_parent(args.output)
    start = DenseEncoder.load(args.start, device=args.device)
    trained = DenseEncoder.load(args.model, device=args.device)
    record = {"start": str(args.start), "model": str(args.model)}
    if args.lam is not None:
        lam = args.lam
    else:
        dataset = resolve_dataset(args.dataset)
        qrels = load_qrels_spec(args.qrels, dataset)
        if args.unseen_from:
            from .retrieval.fusion_tuning import unseen_slice

            qrels = unseen_slice(qrels, load_qrels_spec(args.unseen_from, dataset))
        queries = {q: dataset.queries[q] for q in qrels if q in dataset.queries}
        passages = {d: doc.contents for d, doc in dataset.corpus.items()}
        selection = None
        if args.rerank:
            from .data.runs import read_run
            from .training.selection import selection_set

            selection = selection_set({q: qrels[q] for q in queries}, read_run(args.rerank), queries, args.depth, args.rerank)
        lam, grid = choose_lambda(start, trained, passages, queries, qrels, args.lambdas or DEFAULT_GRID, selection=selection)
        record.update({"qrels": args.qrels, "unseen_from": args.unseen_from, "queries": len(queries), "grid": grid,
                       "judged_by": f"re-ranking the top {args.depth} of {args.rerank}" if args.rerank else "exact search"})
        for row in grid:
            logger.info("lambda %.2f: nDCG@10 %.4f on %d held-out queries", row["lambda"], row["nDCG@10"], len(queries))
    record["lambda"] = lam

    def extra(tmp: Path) -> None:
        for name in COPIED:
            if (Path(args.model) / name).is_file():
                shutil.copy(Path(args.model) / name, tmp / name)
        (tmp / "interpolation.json").write_text(json.dumps(record, indent=1))

    interpolated_model(start, trained, lam).save(args.output, extra=extra)
    _write_card(args, record)
    print(f"wrote {args.output} with lambda {lam}")


def _write_card(args: argparse.Namespace, record: dict) -> None:
    """The trained model's card facts, plus how the interpolation was chosen."""
    from .training.model_card import CARD_NAME, read_front_matter, write_model_card

    if not (args.output / "train_config.json").is_file():
        return
    datasets = read_front_matter(Path(args.model) / CARD_NAME).get("datasets") or [args.dataset or "unknown"]
    path = write_model_card(args.output, "dense", str(datasets[0]))
    lines = ["", "## Interpolation", "", f"theta = (1 - lambda) theta_0 + lambda theta with theta_0 = `{record['start']}`, "
             f"theta = `{record['model']}`, lambda = {record['lambda']}"]
    if "grid" in record:
        lines += [f"(chosen by nDCG@10 on {record['queries']} held-out queries of `{record['qrels']}`)", "",
                  "| lambda | nDCG@10 |", "|---|---|"] + [f"| {r['lambda']} | {r['nDCG@10']} |" for r in record["grid"]]
    path.write_text(path.read_text() + "\n".join(lines) + "\n")


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.interpolate", build_parser, _run, argv)


if __name__ == "__main__":
    main()
