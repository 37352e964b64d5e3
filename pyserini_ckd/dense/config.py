"""The encoder's own settings, saved beside its weights as ``pyserini_ckd.json``.

Wrong pooling and normalisation are the most common dense-retrieval bug: they live in the model
directory, so that no client has to remember flags.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Union

from ..errors import ConfigError, InputError, require_positive

CONFIG_NAME = "pyserini_ckd.json"
POOLINGS = ("mean", "cls")


@dataclass
class EncoderConfig:
    """How text becomes one vector: e = pool(BERT(prefix + text)), then e / ||e|| when ``normalize``.

    ``mean`` pooling averages the last hidden states over non-padding tokens; ``cls`` takes the first.
    """

    pooling: str = "mean"
    normalize: bool = True
    query_max_length: int = 64
    passage_max_length: int = 256
    query_prefix: str = ""
    passage_prefix: str = ""
    base_model: str = ""

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ConfigError(f"pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")
        require_positive(self, "query_max_length", "passage_max_length", dashed=False)

    def save(self, model_dir: Union[str, Path]) -> None:
        (Path(model_dir) / CONFIG_NAME).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, model_dir: Union[str, Path]) -> "EncoderConfig":
        path = Path(model_dir) / CONFIG_NAME
        try:
            raw = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(path, exc.lineno, f"malformed JSON: {exc.msg}") from None
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise InputError(path, None, f"unknown setting(s): {', '.join(sorted(unknown))}")
        return cls(**raw)
