"""Errors a user can act on. A CLI prints them as one line and exits with code 2, no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union


class CkdError(Exception):
    """Base class of every error caused by the user's input or settings (not by a bug)."""


class InputError(CkdError):
    """Bad content in an input file; the message names the file and, where known, the line.

    >>> str(InputError("corpus.jsonl", 3, "missing field '_id'"))
    "corpus.jsonl:3: missing field '_id'"
    """

    def __init__(self, path: Union[str, Path], line: Optional[int], message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class ConfigError(CkdError):
    """A bad setting (a flag or a config field); the message names the setting."""


class OutputError(CkdError):
    """An output cannot be written where the user asked."""


def require_positive(config: object, *names: str, dashed: bool = True) -> None:
    """Raise :class:`ConfigError` for the first of ``names`` whose value on ``config`` is not > 0.

    The setting is named as its CLI flag (``batch_size`` -> ``batch-size``) when ``dashed``, else as the field.
    """
    for name in names:
        value = getattr(config, name)
        if value <= 0:
            raise ConfigError(f"{name.replace('_', '-') if dashed else name} must be positive, got {value}")


def first_line(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (its type's name when it has none), cut at ``limit`` characters:
    what a one-line error quotes of a library's exception (Faiss's, Lucene's through pyjnius)."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:limit]
