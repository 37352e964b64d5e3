"""Prepare a GPU run of the pipeline (the GPU image has torch and transformers, but no Java, Pyserini or Faiss).

Runs the BM25 stages of the chosen profile here (index, negatives, BM25 runs) in WORKDIR, then packs
into ``OUT/bundle.tar.gz`` the datasets (main + transfer), those BM25 outputs with their stamps, and
writes MiniLM as fp16 safetensors to ``OUT/minilm-fp16`` (45 MB; cast back to fp32 on load). On the GPU,
``benchmarks/gpu_pipeline.sh`` unpacks it and runs the rest of the pipeline, whose BM25 stages are then
skipped because their stamps match.

    .venv/bin/python benchmarks/prepare_gpu_bundle.py --workdir work/gpu --out .carry [--profile full]
"""

from __future__ import annotations

import argparse
import tarfile
from pathlib import Path

from pyserini_ckd.dense.encoder import DenseEncoder
from pyserini_ckd.pipeline.config import PipelineConfig
from pyserini_ckd.pipeline.experiment import Experiment


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--dataset", default="scifact")
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--profile", default="full")
    args = p.parse_args()
    exp = Experiment(PipelineConfig(dataset=args.dataset, workdir=args.workdir, profile=args.profile))
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
    print(f"bundle: {(args.out / 'bundle.tar.gz').stat().st_size / 1e6:.1f} MB, model: {model}")


if __name__ == "__main__":
    main()
