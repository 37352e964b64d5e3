"""A pause between units of work, set by ``PYSERINI_CKD_SLOW_S`` (seconds; default none).

Tests use it to land a kill -9 in the middle of a long command; nothing else should set it.
"""

from __future__ import annotations

import os
import time


def pause() -> None:
    seconds = float(os.environ.get("PYSERINI_CKD_SLOW_S", "0") or 0)
    if seconds > 0:
        time.sleep(seconds)
