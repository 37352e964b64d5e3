"""The single-vector dense encoder (the distilled student) and its Pyserini integration."""

from .config import EncoderConfig
from .encoder import DenseEncoder

__all__ = ["EncoderConfig", "DenseEncoder"]
