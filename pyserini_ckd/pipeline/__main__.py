"""``python -m pyserini_ckd.pipeline --dataset scifact --workdir W [--profile quick|full] [--config FILE]
[--device cpu|cuda] [--transfer cranfield cacm npl] [--dry-run | --report-only]``: BM25, teachers, labels, students, runs, report.

A rerun skips finished stages; a changed setting reruns only what depends on it; an interrupted run
continues where it stopped. Outputs: ``W/runs``, ``W/labels``, ``W/results.json``, ``W/report.md``,
``W/results.png``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Optional, Sequence

from ..cli import run_cli
from .config import PROFILES, PipelineConfig

logger = logging.getLogger("pyserini_ckd.pipeline")


def add_experiment_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options that name an experiment (shared with the benchmarks that run parts of one)."""
    p.add_argument("--dataset", default="scifact")
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--profile", choices=PROFILES, default="quick")
    p.add_argument("--config", type=Path, help="JSON overriding the profile's settings")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--transfer", nargs="*", default=None, help="zero-shot datasets (default: the profile's)")
    return p


def config_from_args(args: argparse.Namespace) -> PipelineConfig:
    return PipelineConfig(dataset=args.dataset, workdir=args.workdir, profile=args.profile, device=args.device,
                          transfer=args.transfer, config_file=args.config)


def build_parser() -> argparse.ArgumentParser:
    p = add_experiment_arguments(argparse.ArgumentParser(description="Run the whole collective-distillation experiment."))
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: evaluate the runs already in WORKDIR and write the report (stage seconds from the stamps)")
    p.add_argument("--dry-run", action="store_true",
                   help="run nothing: list the stages a run would run now (changed settings, missing outputs)")
    return p


def _run(args: argparse.Namespace) -> None:
    from .experiment import Experiment
    from .report import tables, write_report

    from ..atomic import prepare_parent

    if not args.dry_run:
        prepare_parent(args.workdir / "stamps")  # fail at once if the workdir cannot be written
    exp = Experiment(config_from_args(args))
    if args.dry_run:
        order = exp.plan()
        for stage in order:
            print(f"would run  {stage.name}")
        print(f"{len(order)} of {len(exp.reg.stages)} stages would run")
        return
    if args.report_only:
        exp.reg.load_stamps()
    else:
        exp.run_all()
    summary = write_report(exp)
    print(tables(summary))
    print(f"\nreport: {args.workdir / 'report.md'}  plot: {args.workdir / 'results.png'}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.pipeline", build_parser, _run, argv)


if __name__ == "__main__":
    main()
