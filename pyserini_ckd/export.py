"""``python -m pyserini_ckd.export --onnx MODEL_DIR``: write ``MODEL_DIR/onnx/model.onnx`` and check it.

The graph gives token states; pooling and normalisation come from the folder's ``pyserini_ckd.json``
(see :mod:`pyserini_ckd.dense.onnx_export`). After writing, it encodes a few texts with onnxruntime
(:class:`pyserini_ckd.dense.onnx_encoder.OnnxEncoder`, no torch) and with the torch encoder and prints
the smallest cosine between the two; below ``--min-cosine`` (0.9999) the export is removed and the
command fails.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Optional, Sequence

from .cli import run_cli
from .errors import CkdError

logger = logging.getLogger(__name__)

CHECK_TEXTS = ("what raises blood pressure", "Aspirin lowers the risk of heart attack in adults. " * 8,
               "vitamin D and fractures", "A diet high in salt raises blood pressure.")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip())
    p.add_argument("--onnx", type=Path, required=True, metavar="MODEL_DIR", help="dense model folder to export")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--min-cosine", type=float, default=0.9999, help="parity required between onnxruntime and torch")
    return p


def _run(args: argparse.Namespace) -> None:
    from .dense.encoder import DenseEncoder
    from .dense.models import resolve_model
    from .dense.onnx_encoder import OnnxEncoder
    from .dense.onnx_export import export_onnx

    model_dir = resolve_model(args.onnx)
    path = export_onnx(model_dir, opset=args.opset)
    torch_model = DenseEncoder.load(model_dir)
    onnx_model = OnnxEncoder(model_dir)
    worst = 1.0
    for kind in ("query", "passage"):
        a = onnx_model.encode(CHECK_TEXTS, kind=kind)
        b = torch_model.encode(CHECK_TEXTS, kind=kind, precision="fp32")
        cos = (a * b).sum(1) / ((a * a).sum(1) * (b * b).sum(1)) ** 0.5
        worst = min(worst, float(cos.min()))
    if worst < args.min_cosine:
        path.unlink()
        raise CkdError(f"{path}: onnxruntime and torch disagree (smallest cosine {worst:.6f} < {args.min_cosine}); removed")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); smallest cosine to the torch encoder {worst:.6f}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.export", build_parser, _run, argv)


if __name__ == "__main__":
    main()
