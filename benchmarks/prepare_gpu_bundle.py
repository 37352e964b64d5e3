"""Prepare a GPU run of the pipeline (the GPU image has torch and transformers, but no Java, Pyserini or Faiss).

Runs the BM25 stages of the chosen profile here (index, negatives, BM25 runs) in WORKDIR, then packs
into ``OUT/bundle.tar.gz`` the datasets (main + transfer), those BM25 outputs with their stamps, and
writes MiniLM as fp16 safetensors to ``OUT/minilm-fp16`` (45 MB; cast back to fp32 on load). On the GPU,
``benchmarks/gpu_pipeline.sh`` (the pipeline) or ``benchmarks/gpu_labels.sh`` (the device tests and the teacher
cost) unpacks it and runs the rest, whose BM25 stages are then skipped because their stamps match.

It also downloads into ``WHEELS`` (default ``.whl``) the wheels of what the GPU image lacks and the run
imports (ir-measures and pytrec-eval-terrier, the versions installed here, built for the image's Python).

    .venv/bin/python benchmarks/prepare_gpu_bundle.py --workdir work/gpu --out .carry [--profile full]
    .venv/bin/python benchmarks/prepare_gpu_bundle.py --workdir work/gpu-cost --out .carry --profile quick \
        --config benchmarks/configs/teacher_cost_joint_cpu.json
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
from importlib.metadata import version
from pathlib import Path

from pyserini_ckd.dense.encoder import DenseEncoder
from pyserini_ckd.pipeline.config import PipelineConfig
from pyserini_ckd.pipeline.experiment import Experiment

# what the run imports and the GPU image lacks (docs: .library/device/KINDS.md's package list)
MISSING_THERE = ("ir_measures", "pytrec_eval-terrier")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64")


def download_wheels(out: Path, python_version: str) -> None:
    """The wheels of :data:`MISSING_THERE`, the versions installed here, for CPython ``python_version`` on x86-64."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.whl"):  # one version of each: two stop the whole install there
        old.unlink()
    platforms = [a for p in PLATFORMS for a in ("--platform", p)]
    pins = [f"{name}=={version(name)}" for name in MISSING_THERE]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "--python-version", python_version, "--implementation", "cp", *platforms, "-d", str(out), *pins],
                   check=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--dataset", default="scifact")
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--profile", default="full")
    p.add_argument("--config", type=Path, help="JSON over the profile's settings, as the run there will be given")
    p.add_argument("--wheels", type=Path, default=Path(".whl"), help="where the wheels go")
    p.add_argument("--python-version", default="3.12", help="the GPU image's Python")
    args = p.parse_args()
    exp = Experiment(PipelineConfig(dataset=args.dataset, workdir=args.workdir, profile=args.profile,
                                    config_file=args.config))
    bm25 = [s for name, s in exp.reg.stages.items() if name.startswith("bm25-") and not name.startswith("bm25-index")]
    for stage in bm25:
        stage.ensure()
    args.out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(args.out / "bundle.tar.gz", "w:gz") as tar:
        for d in exp.datasets:
            tar.add(d.path, arcname=f"data/{d.name}")
        for stage in bm25:
            tar.add(stage.stamp_path, arcname=f"W/stamps/{stage.stamp_path.name}")
            for out in stage.outputs:
                tar.add(out, arcname=f"W/{out.relative_to(args.workdir)}")
    model = args.out / "minilm-fp16"
    if not (model / "model.safetensors").is_file():
        m = DenseEncoder.load("minilm")
        m.backbone.half()
        m.save(model)
    download_wheels(args.wheels, args.python_version)
    print(f"bundle: {(args.out / 'bundle.tar.gz').stat().st_size / 1e6:.1f} MB, model: {model}, "
          f"wheels: {', '.join(w.name for w in sorted(args.wheels.glob('*.whl')))}")


if __name__ == "__main__":
    main()
