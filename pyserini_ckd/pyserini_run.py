"""Run one of Pyserini's own command-line modules with Java set up: ``python -m pyserini_ckd.pyserini_run MODULE ARGS``.

Examples::

    python -m pyserini_ckd.pyserini_run pyserini.eval.trec_eval -c -m ndcg_cut.10 QRELS RUN
    python -m pyserini_ckd.pyserini_run pyserini.search.faiss --index INDEX --topics TOPICS --output RUN
    python -m pyserini_ckd.pyserini_run pyserini.encode input ... output ... encoder --encoder MODEL

It applies :func:`pyserini_ckd.ensure_pyserini_ready` and then runs ``MODULE`` exactly as
``python -m MODULE`` would (``sys.argv[0]`` is the module's path, the rest are ``ARGS``). For
``pyserini.search.faiss``, ``pyserini.search.hybrid`` and ``pyserini.encode`` it first picks the ``ckd``
encoder for a model folder or index that records pyserini_ckd settings, accepts ``--encoder-class ckd``,
and stops (exit code 2, one line) on a flag that contradicts the record: see
:mod:`pyserini_ckd.dense.pyserini_cli`.
"""

from __future__ import annotations

import runpy
import sys

from .errors import CkdError
from .java import ensure_pyserini_ready


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        raise SystemExit(0 if len(sys.argv) >= 2 else 2)
    module = sys.argv[1]
    if not module.startswith("pyserini"):
        module = f"pyserini.{module}"
    from .dense.pyserini_cli import ckd_encoder_class_choice, prepare

    try:
        argv = prepare(module, sys.argv[2:])
    except CkdError as exc:
        print(f"pyserini_ckd.pyserini_run {module}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    ensure_pyserini_ready()
    sys.argv = [module] + argv
    with ckd_encoder_class_choice():
        runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
