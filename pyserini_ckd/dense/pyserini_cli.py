"""Pyserini's own command lines on pyserini_ckd models and indexes, without the silent traps.

Pyserini's ``search.faiss``, ``search.hybrid`` and ``encode`` choose an encoder class from a fixed list
(``--encoder-class``) or, without that flag, from the first class keyword found in the model's path, and
fall back to ``AutoQueryEncoder`` with [CLS] pooling and no normalisation. On a mean-pooled, normalised
model that runs, exits 0 and ranks worse, with no warning. ``python -m pyserini_ckd.pyserini_run MODULE
ARGS`` calls :func:`prepare` on ``ARGS`` first:

1. It finds the encoder's arguments: all of them for ``search.faiss``, the ``dense`` section for
   ``search.hybrid``, the ``encoder`` section for ``encode``.
2. It reads what the model folder (``--encoder``) and the dense index (``--index``) record in
   ``pyserini_ckd.json``. A model without that file but with sentence-transformers' files (MiniLM as
   shipped) is read the way :class:`~pyserini_ckd.dense.encoder.DenseEncoder` reads it. The alias
   ``minilm`` becomes the wheel's path, and an index whose metadata names its model needs no
   ``--encoder`` at all.
3. When either records settings: ``--encoder-class ckd`` is added unless given (and the
   parser accepts ``ckd``); a flag that contradicts the record (``--pooling``, ``--l2-norm``, another
   ``--encoder-class`` whose pooling or normalisation differs, ``--dimension``) stops with one line,
   exit code 2, before Pyserini loads anything. ``encode`` gets ``--dimension`` and ``--max-length`` from
   the model when they are not given.
"""

from __future__ import annotations

import argparse
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from ..errors import ConfigError, InputError
from .faiss_index import META_NAME
from .models import is_minilm_alias, resolve_model

NAME = "ckd"

# What Pyserini's query/document encoder classes do with pooling and normalisation, given the CLI's flags.
# ``None`` means "the flags decide" (auto); a class not listed pools in its own way.
_CLASS_POOLING: Dict[str, Optional[Tuple[str, bool]]] = {
    "auto": None, "sentence": ("mean", True), "sentence-transformers": ("mean", True), "contriever": ("mean", False),
}


@dataclass(frozen=True)
class Layout:
    """Where a module keeps its encoder flags: the section (None: all of argv) and its section names."""

    section: Optional[str]
    sections: Tuple[str, ...] = ()
    index_flag: Optional[str] = "--index"
    writes_vectors: bool = False


LAYOUTS: Dict[str, Layout] = {
    "pyserini.search.faiss": Layout(section=None),
    "pyserini.search.hybrid": Layout(section="dense", sections=("dense", "sparse", "fusion", "run")),
    "pyserini.encode": Layout(section="encoder", sections=("input", "output", "encoder"), index_flag=None,
                              writes_vectors=True),
}


@dataclass(frozen=True)
class Recorded:
    """The settings a model folder or a dense index records, and where they were read."""

    pooling: str
    normalize: bool
    dimension: Optional[int]
    source: str
    passage_max_length: Optional[int] = None
    model: Optional[str] = None


def _split(argv: Sequence[str], sections: Tuple[str, ...]) -> List[List[str]]:
    """argv cut where a section name starts (Pyserini's own rule); part 0 is what precedes any section."""
    parts: List[List[str]] = [[]]
    for token in argv:
        if token in sections:
            parts.append([token])
        else:
            parts[-1].append(token)
    return parts


def _value(part: List[str], flag: str) -> Optional[str]:
    for i, token in enumerate(part):
        if token == flag and i + 1 < len(part):
            return part[i + 1]
        if token.startswith(flag + "="):
            return token.split("=", 1)[1]
    return None


def _set(part: List[str], flag: str, value: str) -> None:
    for i, token in enumerate(part):
        if token == flag and i + 1 < len(part):
            part[i + 1] = value
            return
        if token.startswith(flag + "="):
            part[i] = f"{flag}={value}"
            return
    part.extend([flag, value])


def _dimension(model_dir: Path) -> Optional[int]:
    try:
        return int(json.loads((model_dir / "config.json").read_text())["hidden_size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def model_record(encoder: str) -> Optional[Recorded]:
    """What a model folder says about itself: ``pyserini_ckd.json``, else sentence-transformers' files
    (read as :class:`~pyserini_ckd.dense.encoder.DenseEncoder` reads them); None for anything else."""
    from .encoder import recorded_config

    try:
        path = resolve_model(encoder)
    except InputError:
        return None  # not a local model folder (a hub name, say): Pyserini's business
    recorded = recorded_config(path)
    if recorded is None:
        return None
    config, source = recorded
    return Recorded(config.pooling, config.normalize, _dimension(path), str(source), config.passage_max_length,
                    model=str(path))


def index_record(index: str) -> Optional[Recorded]:
    """What a dense index built by pyserini_ckd records (None for indexes made elsewhere)."""
    path = Path(index) / META_NAME
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text())
        return Recorded(meta["pooling"], bool(meta["normalize"]), int(meta["dimension"]), str(path),
                        model=meta.get("model") or None)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: unreadable index metadata ({exc})") from None


def _check_agree(a: Recorded, b: Recorded) -> None:
    for key in ("pooling", "normalize", "dimension"):
        x, y = getattr(a, key), getattr(b, key)
        if x is not None and y is not None and x != y:
            raise ConfigError(f"{a.source} records {key} {x!r} but {b.source} records {y!r}: "
                              "this model did not build this index")


def _check_flags(part: List[str], rec: Recorded, layout: Layout) -> None:
    """Stop on any flag that contradicts what ``rec`` records."""
    pooling = _value(part, "--pooling")
    if pooling is not None and pooling != rec.pooling:
        raise ConfigError(f"--pooling {pooling} contradicts {rec.source}, which records pooling {rec.pooling!r}")
    if "--l2-norm" in part and not rec.normalize:
        raise ConfigError(f"--l2-norm contradicts {rec.source}, which records normalize false")
    cls = _value(part, "--encoder-class")
    if cls is not None and cls != NAME:
        if cls not in _CLASS_POOLING:
            raise ConfigError(f"--encoder-class {cls} does not pool as {rec.source} records "
                              f"({rec.pooling}, normalize {str(rec.normalize).lower()}): use --encoder-class {NAME}")
        effective = _CLASS_POOLING[cls] or (pooling or "cls", "--l2-norm" in part)
        if effective != (rec.pooling, rec.normalize):
            raise ConfigError(f"--encoder-class {cls} would encode with {effective[0]} pooling, normalize "
                              f"{str(effective[1]).lower()}, but {rec.source} records {rec.pooling}, normalize "
                              f"{str(rec.normalize).lower()}: drop --encoder-class (or use {NAME}), or pass "
                              f"--pooling {rec.pooling}{' --l2-norm' if rec.normalize else ''}")
    dimension = _value(part, "--dimension") if layout.writes_vectors else None
    if dimension is not None and rec.dimension is not None and int(dimension) != rec.dimension:
        raise ConfigError(f"--dimension {dimension} contradicts {rec.source}: the model's vectors have "
                          f"{rec.dimension} dimensions")


def prepare(module: str, argv: Sequence[str]) -> List[str]:
    """Return ``argv`` for ``module`` with our encoder chosen where ours is meant; raise ConfigError on a
    contradiction. Modules other than the three above pass through unchanged."""
    layout = LAYOUTS.get(module)
    if layout is None:
        return list(argv)
    parts = _split(argv, layout.sections)
    if layout.section is None:
        part = parts[0]
    else:
        found = [p for p in parts[1:] if p[0] == layout.section]
        if not found:
            return list(argv)
        part = found[0]
    encoder = _value(part, "--encoder")
    index = _value(part, "--index") if layout.index_flag else None
    from_index = index_record(index) if index else None
    if encoder is None and from_index is not None and from_index.model and _value(part, "--encoded-queries") is None:
        encoder = from_index.model
        _set(part, "--encoder", encoder)
    from_model = model_record(encoder) if encoder else None
    if from_model is not None and is_minilm_alias(encoder):
        _set(part, "--encoder", from_model.model)
    # ours: an index of ours, or a model folder whose settings we can read (pyserini_ckd's or
    # sentence-transformers'), which our encoder pools and normalises as recorded
    if encoder is None or (from_index is None and from_model is None):
        return [t for p in parts for t in p]
    if from_model is not None and from_index is not None:
        _check_agree(from_model, from_index)
    for rec in (from_model, from_index):
        if rec is not None:
            _check_flags(part, rec, layout)
    if _value(part, "--encoder-class") is None:
        part.extend(["--encoder-class", NAME])
    if layout.writes_vectors and from_model is not None:
        if _value(part, "--dimension") is None and from_model.dimension is not None:
            part.extend(["--dimension", str(from_model.dimension)])
        if _value(part, "--max-length") is None and from_model.passage_max_length:
            part.extend(["--max-length", str(from_model.passage_max_length)])
    return [t for p in parts for t in p]


@contextmanager
def ckd_encoder_class_choice() -> Iterator[None]:
    """While active, every parser that declares ``--encoder-class`` with fixed choices also accepts ``ckd``."""
    original = argparse._ActionsContainer.add_argument

    def add_argument(self, *args, **kwargs):
        if "--encoder-class" in args and kwargs.get("choices") is not None and NAME not in kwargs["choices"]:
            kwargs["choices"] = list(kwargs["choices"]) + [NAME]
        return original(self, *args, **kwargs)

    argparse._ActionsContainer.add_argument = add_argument
    try:
        yield
    finally:
        argparse._ActionsContainer.add_argument = original
