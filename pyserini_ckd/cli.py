"""What every ``python -m pyserini_ckd.X`` shares: logging set-up and the one-line error contract."""

from __future__ import annotations

import argparse
import errno
import logging
import re
import sys
from typing import Callable, Optional, Sequence

from .errors import CkdError
from .jobs import non_negative_float, positive_int  # noqa: F401 -- the argparse types every CLI uses

logger = logging.getLogger(__name__)


WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
WRITE_MESSAGES = ("No space left on device", "Disk quota exceeded", "Read-only file system", "Permission denied")


def write_failure(exc: BaseException) -> Optional[str]:
    """One line for an output that could not be written (full disk, quota, read-only, permissions), or None.

    Python reports these as OSError; Faiss (RuntimeError) and Lucene (a Java exception through pyjnius) put
    the operating system's message in their own, so those are recognised by it."""
    if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
        where = f"cannot write {exc.filename}" if exc.filename else "cannot write the output"
        return f"{where}: {exc.strerror}"
    text = str(exc)
    for message in WRITE_MESSAGES:
        if message in text:
            paths = re.findall(r"(/[^\s:'\"]+)", text)
            return f"cannot write {paths[0] if paths else 'the output'}: {message}"
    return None


def run_cli(
    prog: str,
    build_parser: Callable[[], argparse.ArgumentParser],
    body: Callable[[argparse.Namespace], None],
    argv: Optional[Sequence[str]] = None,
) -> int:
    """Parse ``argv``, run ``body``; a :class:`CkdError` becomes one line on stderr and exit code 2.

    A write that fails for lack of space or permission becomes one line and exit code 1 (the input was
    fine; outputs are written to temporaries that are removed, so nothing half-written stays). argparse's
    own usage errors also exit with 2. Returns 0 on success (for in-process tests).
    """
    parser = build_parser()
    parser.prog = prog
    args = parser.parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        body(args)
    except CkdError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except Exception as exc:  # noqa: BLE001 -- only write failures are caught; anything else is re-raised
        cause = write_failure(exc)
        if cause is None:
            raise
        print(f"{prog}: error: {cause}; nothing was written", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; no partial output was kept", file=sys.stderr)
        raise SystemExit(130) from None
    return 0
