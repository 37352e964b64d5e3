"""Cached pipeline stages.

A stage has a name, settings, dependencies and outputs. Its key is a hash of its settings and its
dependencies' keys, so a changed setting changes the key of that stage and of everything downstream.
``ensure()`` skips a stage whose stamp (``W/stamps/NAME.json``) holds the same key while all its outputs
exist; only a stage that must run visits its dependencies. Outputs are written atomically by the code
that makes them, and the stamp last, so an interrupted run continues with the unfinished stage.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from ..atomic import atomic_output

logger = logging.getLogger(__name__)


@dataclass
class Stage:
    name: str
    settings: dict
    outputs: Sequence[Path]
    run: Callable[[], Optional[dict]]
    deps: List["Stage"] = field(default_factory=list)
    stamps: Path = Path("stamps")
    seconds: Optional[float] = None
    info: dict = field(default_factory=dict)
    skipped: bool = False

    @property
    def key(self) -> str:
        payload = json.dumps({"settings": self.settings, "deps": sorted(d.key for d in self.deps)}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @property
    def stamp_path(self) -> Path:
        return self.stamps / f"{self.name}.json"

    def _stamp(self) -> Optional[dict]:
        try:
            return json.loads(self.stamp_path.read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def done(self) -> bool:
        stamp = self._stamp()
        return bool(stamp and stamp.get("key") == self.key and all(Path(o).exists() for o in self.outputs))

    def plan(self, order: List["Stage"]) -> None:
        """Append to ``order`` the stages ``ensure()`` would run, in the order it would run them."""
        if self in order or self.done():
            return
        for dep in self.deps:
            dep.plan(order)
        order.append(self)

    def ensure(self) -> "Stage":
        if self.seconds is not None:
            return self
        stamp = self._stamp()
        if self.done():
            self.seconds, self.info, self.skipped = stamp.get("seconds", 0.0), stamp.get("info", {}), True
            logger.info("stage %-32s done before (%.1f s), skipped", self.name, self.seconds)
            return self
        for dep in self.deps:
            dep.ensure()
        start = time.perf_counter()
        self.info = self.run() or {}
        self.seconds = time.perf_counter() - start
        with atomic_output(self.stamp_path) as tmp:
            tmp.write_text(json.dumps({"key": self.key, "settings": self.settings, "seconds": round(self.seconds, 2),
                                       "info": self.info}, indent=1, default=str))
        logger.info("stage %-32s finished in %.1f s", self.name, self.seconds)
        return self


class Registry:
    """The stages of one pipeline run, by name."""

    def __init__(self, stamps: Path) -> None:
        self.stamps = stamps
        self.stages: Dict[str, Stage] = {}

    def add(self, name: str, settings: dict, outputs: Sequence[Path], run: Callable[[], Optional[dict]],
            deps: Sequence[Stage] = ()) -> Stage:
        stage = Stage(name, settings, [Path(o) for o in outputs], run, list(deps), self.stamps)
        self.stages[name] = stage
        return stage

    def load_stamps(self) -> None:
        """Take each stage's seconds and info from its stamp, as recorded (for ``--report-only``)."""
        for stage in self.stages.values():
            stamp = stage._stamp()
            if stamp and stage.seconds is None:
                stage.seconds, stage.info, stage.skipped = stamp.get("seconds", 0.0), stamp.get("info", {}), True

    def seconds(self) -> Dict[str, float]:
        return {n: round(s.seconds, 2) for n, s in self.stages.items() if s.seconds is not None}
