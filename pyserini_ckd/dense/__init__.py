"""The single-vector dense encoder (the distilled student) and its Pyserini integration.

``DenseEncoder`` is imported on first use, so that the torch-free parts of this package
(:mod:`pyserini_ckd.dense.onnx_encoder`) load without torch.
"""

from .config import EncoderConfig

__all__ = ["EncoderConfig", "DenseEncoder"]


def __getattr__(name: str):
    if name == "DenseEncoder":
        from .encoder import DenseEncoder

        return DenseEncoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
