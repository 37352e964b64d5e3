"""``python -m pyserini_ckd.interpolate``: a dense model part of the way back to the one it was trained from.

    theta = (1 - lambda) theta_0 + lambda theta       (pyserini_ckd.training.interpolation)

    python -m pyserini_ckd.interpolate --start minilm --model W/student --output W/student-wise --lambda 0.5
    python -m pyserini_ckd.interpolate --start minilm --model W/student --output W/student-wise \\
        --dataset DATA --qrels W/qrels-dev.tsv [--lambdas 0 0.25 0.5 0.75 1] [--unseen-from DATA:train] [--rerank RUN]

With ``--qrels`` (held-out training queries, never test) lambda is chosen from the grid by nDCG@10 of exact
dense search over the corpus; ``--unseen-from`` keeps only the held-out queries none of whose relevant
passages is relevant to a query of that split (the fusion tuning's unseen slice). The output folder is a
dense model folder (the trained model's settings, log and card, plus ``interpolation.json`` with lambda and
the grid). The options are the fields of :class:`pyserini_ckd.training.interpolation.InterpolateJob`.
"""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

from .cli import run_cli
from .jobs import add_arguments, from_args
from .training.interpolation import InterpolateJob, run_interpolate


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p, InterpolateJob)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.interpolate", build_parser, lambda args: run_interpolate(from_args(InterpolateJob, args)), argv)


if __name__ == "__main__":
    main()
