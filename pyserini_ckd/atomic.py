"""Write outputs so that nothing half-written is ever left where the user expects a result.

Every output (a file or a directory) is first written to a hidden temporary path in the same folder
as the final one, and renamed over it only once complete: a crash, a kill or an error leaves either
the previous output or nothing. Temporary names carry the writer's process id
(``.NAME.tmp-PID-RANDOM``); the next write of the same output removes those of processes that are
no longer alive (a kill -9 leaves them behind).
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
    remove_stale_temporaries(final)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    if directory:
        tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    _default_modes(tmp)
    if final.is_dir() and not final.is_symlink():
        old = final.parent / f".{final.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _default_modes(path: Path) -> None:
    """Give an output the modes a plain ``open``/``mkdir`` would: libraries that write through
    ``mkstemp`` (transformers' safetensors) leave 0600 files in a folder whose other files are 0644."""
    mask = _umask()
    if path.is_file() and not path.is_symlink():
        os.chmod(path, 0o666 & ~mask)
        return
    if not path.is_dir() or path.is_symlink():
        return
    os.chmod(path, 0o777 & ~mask)
    for root, dirs, files in os.walk(path):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o777 & ~mask)
        for name in files:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                os.chmod(full, 0o666 & ~mask)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(final: Union[str, Path]) -> None:
    """Remove temporaries that dead processes left beside ``final`` (a kill -9 mid-write)."""
    final = Path(final)
    if not final.parent.is_dir():
        return
    for p in list(final.parent.glob(f".{final.name}.tmp-*")) + list(final.parent.glob(f".{final.name}.old-*")):
        try:
            pid = int(p.name.rsplit("-", 2)[-2])
        except ValueError:
            continue
        if not _alive(pid):
            _remove(p)
