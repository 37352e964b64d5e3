"""Write outputs so that nothing half-written is ever left where the user expects a result.

Every output (a file or a directory) is first written to a hidden temporary path in the same folder
as the final one, and renamed over it only once complete: a crash, a kill or an error leaves either
the previous output or nothing.
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

from .errors import OutputError


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def prepare_parent(final: Path) -> None:
    """Create the output's folder, or fail with a one-line :class:`OutputError`."""
    parent = final.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{final}: cannot create folder {parent}: {exc.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{final}: folder {parent} is not writable")


@contextmanager
def atomic_output(final: Union[str, Path], directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it to ``final`` when the block succeeds.

    With ``directory=True`` the temporary path is created as an empty folder. An existing ``final``
    is replaced only after the new output is complete.
    """
    final = Path(final)
    prepare_parent(final)
    tmp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex[:8]}"
    if directory:
        tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    if final.is_dir() and not final.is_symlink():
        old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


def remove_stale_temporaries(final: Union[str, Path]) -> None:
    """Remove temporaries that a killed process left beside ``final`` (best effort)."""
    final = Path(final)
    if not final.parent.is_dir():
        return
    for p in final.parent.glob(f".{final.name}.tmp-*"):
        _remove(p)
    for p in final.parent.glob(f".{final.name}.old-*"):
        _remove(p)
