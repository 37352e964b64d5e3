"""Line reading shared by every reader: UTF-8 checked per line, BOM and CRLF tolerated."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Iterator, Tuple, Union

from ..errors import InputError


def iter_lines(path: Union[str, Path]) -> Iterator[Tuple[int, str]]:
    """Yield ``(line_number, text)`` for each line, without its line end; blank lines are skipped.

    A UTF-8 byte-order mark on the first line is dropped; bytes that are not UTF-8 raise an
    :class:`InputError` naming the line. A name ending in ``.gz`` is read through gzip.
    """
    path = Path(path)
    try:
        handle = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    except FileNotFoundError:
        raise InputError(path, None, "no such file") from None
    except IsADirectoryError:
        raise InputError(path, None, "is a folder, expected a file") from None
    except OSError as exc:
        raise InputError(path, None, f"cannot read: {exc.strerror}") from None
    with handle:
        for number, raw in enumerate(handle, 1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(path, number, f"not valid UTF-8 (byte {exc.start + 1} of the line)") from None
            text = text.rstrip("\r\n")
            if text.strip():
                yield number, text
