"""Redo the pipeline's hybrid stage on the runs a pipeline workdir already holds, then its report.

For a workdir whose models are gone but whose runs came back (a GPU run fetched with its ``runs/``
folder, the model weights left behind): tunes the fusion weight as the pipeline's ``hybrid-collective``
stage does now (same code, :meth:`Experiment.fusion_tuning_qrels`), rewrites
``runs/hybrid-collective.*``, ``results.json`` and ``report.md``, and prints the tables.

    python benchmarks/hybrid_from_runs.py --workdir W --profile full [--config FILE] [--transfer ...]
"""

from __future__ import annotations

import argparse
import json

from pyserini_ckd.pipeline.__main__ import add_experiment_arguments, config_from_args
from pyserini_ckd.pipeline.experiment import Experiment
from pyserini_ckd.pipeline.report import tables, write_report


def main() -> None:
    p = add_experiment_arguments(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.set_defaults(profile="full")
    exp = Experiment(config_from_args(p.parse_args()))
    exp.reg.load_stamps()
    info = exp.fuse_hybrid(exp.student_name("collective", exp.seed0))
    exp.hybrid.info = info
    print(json.dumps({k: info[k] for k in ("fusion", "tuned_on", "tuning_queries")}))
    print(tables(write_report(exp)))


if __name__ == "__main__":
    main()
