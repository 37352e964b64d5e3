"""ONNX export of a dense model folder, and an encoder that runs it with onnxruntime and no torch.

``export_onnx(model_dir)`` writes ``MODEL_DIR/onnx/model.onnx``: the backbone's token states
``last_hidden_state`` (batch, length, hidden) from ``input_ids``, ``attention_mask`` and
``token_type_ids`` (dynamic batch and length, opset 17), where sentence-transformers' ``backend="onnx"``
looks for it. Pooling and normalisation stay outside the graph, as in sentence-transformers; they come
from ``pyserini_ckd.json``.

:class:`OnnxEncoder` (:mod:`pyserini_ckd.dense.onnx_encoder`) is the torch-free client: the tokenizer from
``tokenizer.json`` (Hugging Face ``tokenizers``), onnxruntime for the graph, numpy for
e = sum_i m_i h_i / sum_i m_i (or h_1) and e / ||e||.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Union

from ..atomic import atomic_output
from ..errors import CkdError

ONNX_DIR, ONNX_FILE = "onnx", "model.onnx"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def export_onnx(model_dir: Union[str, Path], opset: int = 17) -> Path:
    """Write ``MODEL_DIR/onnx/model.onnx`` (replacing an older export); returns its path."""
    import torch

    from .encoder import DenseEncoder

    model = DenseEncoder.load(model_dir)
    backbone = model.backbone.eval()

    class TokenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = backbone

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.backbone(input_ids=input_ids, attention_mask=attention_mask,
                                 token_type_ids=token_type_ids).last_hidden_state

    ids = model.pad(model.tokenize(["a passage to trace the graph with", "a query"], "passage"))
    example = (ids["input_ids"], ids["attention_mask"], torch.zeros_like(ids["input_ids"]))
    out = Path(model.source) / ONNX_DIR / ONNX_FILE
    out.parent.mkdir(exist_ok=True)
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
    except ImportError:
        raise CkdError("ONNX export needs the onnx package: pip install onnx") from None
    with atomic_output(out) as tmp, torch.inference_mode(), warnings.catch_warnings():
        # the tracer warns about Python branches on shapes; the parity check after export is the real test
        warnings.simplefilter("ignore")
        torch.onnx.export(TokenStates(), example, str(tmp), input_names=list(INPUTS), output_names=["last_hidden_state"],
                          dynamic_axes={name: {0: "batch", 1: "length"} for name in INPUTS + ("last_hidden_state",)},
                          opset_version=opset, dynamo=False)
    return out
