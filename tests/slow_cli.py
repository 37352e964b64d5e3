"""Run a ``python -m pyserini_ckd.X`` command with one function slowed down, so that a test can land a kill -9
in the middle of it (the production code has no hook for this):

    python tests/slow_cli.py MODULE:ATTR[.ATTR] SECONDS pyserini_ckd.X ARGS...

``MODULE:ATTR`` is replaced by a wrapper that calls it, then sleeps ``SECONDS``.
"""

import functools
import importlib
import sys
import time


def main() -> None:
    target, seconds, cli, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4:]
    module, attr = target.split(":")
    owner = importlib.import_module(module)
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, name)

    @functools.wraps(original)
    def slow(*args, **kwargs):
        out = original(*args, **kwargs)
        time.sleep(seconds)
        return out

    setattr(owner, name, slow)
    sys.exit(importlib.import_module(cli).main(argv))


if __name__ == "__main__":
    main()
