"""Training the dense student (and, with the same loop, teachers): data, losses, trainer.

``from pyserini_ckd.training import TrainConfig, Trainer, from_negatives, from_labels`` (loaded on first use).
"""

_EXPORTS = {"TrainConfig": ".config", "Trainer": ".trainer", "from_negatives": ".data", "from_labels": ".data"}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
