"""Register pyserini_ckd's encoders in Pyserini's class maps, without importing Pyserini early.

Importing ``pyserini.encode`` costs seconds (it loads transformers and every encoder), so
``import pyserini_ckd`` does not do it. Instead it installs a small import hook: the moment anything
imports ``pyserini.encode``, our classes are added to ``document_encoder_class_map`` and
``query_encoder_class_map`` under ``ckd``. If Pyserini is already imported, they are added at once.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

TARGET = "pyserini.encode"


class _RegisterAfterLoad(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        _register_now()

    def __getattr__(self, name):  # get_code, get_source, is_package, ... for runpy and pkgutil
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisterAfterLoad(spec.loader)
        return spec


def _register_now() -> None:
    from .dense.pyserini_encoders import register

    register()


def install() -> None:
    """Register now if ``pyserini.encode`` is loaded, else when it is first imported."""
    if TARGET in sys.modules and hasattr(sys.modules[TARGET], "query_encoder_class_map"):
        _register_now()
        return
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
