"""Run one of Pyserini's own command-line modules with Java set up: ``python -m pyserini_ckd.pyserini_run MODULE ARGS``.

Examples::

    python -m pyserini_ckd.pyserini_run pyserini.eval.trec_eval -c -m ndcg_cut.10 QRELS RUN
    python -m pyserini_ckd.pyserini_run pyserini.encode input ... output ... encoder ...

It applies :func:`pyserini_ckd.ensure_pyserini_ready` and then runs ``MODULE`` exactly as
``python -m MODULE`` would (``sys.argv[0]`` is the module's path, the rest are ``ARGS``).
"""

from __future__ import annotations

import runpy
import sys

from .java import ensure_pyserini_ready


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        raise SystemExit(0 if len(sys.argv) >= 2 else 2)
    module = sys.argv[1]
    if not module.startswith("pyserini"):
        module = f"pyserini.{module}"
    ensure_pyserini_ready()
    sys.argv = [module] + sys.argv[2:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
