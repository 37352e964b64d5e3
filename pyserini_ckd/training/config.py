"""Settings of ``python -m pyserini_ckd.train``, shared by the CLI and the Python API."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from ..errors import ConfigError, require_positive
from .losses import LOSSES


@dataclass
class TrainConfig:
    output: Path
    init: str = "minilm"
    loss: str = "hard"  # hard | uniform | kd
    group_size: int = 8  # candidates per query per step: 1 positive + group_size - 1 negatives
    negative_depth: int = 100  # negatives are drawn from each query's top candidates
    batch_size: int = 16  # queries per optimizer step, over all processes
    grad_accumulation: int = 1
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    epochs: float = 1.0
    steps: Optional[int] = None  # overrides epochs
    seed: int = 42
    temperature: float = 0.25  # kd: teacher softmax temperature T
    epsilon: float = 0.1  # uniform: label smoothing
    student_temperature: float = 0.05  # student scores s = q.p / tau (0.05: cosine x 20)
    gradient_checkpointing: bool = False
    checkpoint_every: int = 200
    keep_checkpoints: int = 2
    precision: str = "auto"  # auto: bf16 on CUDA, fp32 on the CPU
    device: str = "auto"
    max_grad_norm: float = 1.0
    max_length: Optional[int] = None  # dense: cut training passages and queries at N tokens; the saved model keeps its own
    select_every: Optional[int] = None  # with held-out queries: score them every N steps, keep the best step (0 included)

    def __post_init__(self) -> None:
        self.output = Path(self.output)
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}; choose from {', '.join(LOSSES)}")
        require_positive(self, "group_size", "negative_depth", "batch_size", "grad_accumulation", "checkpoint_every",
                         "keep_checkpoints")
        if self.group_size < 2 and self.loss != "hard":
            raise ConfigError("group-size must be at least 2 for the uniform and kd losses")
        if self.batch_size % self.grad_accumulation:
            raise ConfigError("batch-size must be a multiple of grad-accumulation")
        require_positive(self, "learning_rate", "temperature", "student_temperature", "max_grad_norm")
        for name in ("max_length", "select_every"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise ConfigError(f"{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.steps is not None and self.steps <= 0:
            raise ConfigError(f"steps must be positive, got {self.steps}")
        if self.epochs <= 0:
            raise ConfigError(f"epochs must be positive, got {self.epochs}")
        if not 0 <= self.epsilon < 1 or not 0 <= self.warmup_ratio < 1:
            raise ConfigError("epsilon and warmup-ratio must be in [0, 1)")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ConfigError(f"precision must be auto, fp32 or bf16, got {self.precision!r}")

    def to_json(self) -> dict:
        d = asdict(self)
        d["output"] = str(self.output)
        return d
