"""Settings of the trainer, shared by ``python -m pyserini_ckd.train`` (generated from them), the pipeline and the Python API."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from ..errors import ConfigError, require_positive
from ..jobs import non_negative_float, positive_int, setting
from .losses import LOSSES


@dataclass
class TrainConfig:
    """The trainer's settings; every field is also an option of ``python -m pyserini_ckd.train``."""

    output: Path = setting(type=Path, help="model directory to write")
    init: str = setting("minilm", help="the model to start from (a directory or 'minilm'); teachers: the backbone")
    loss: str = setting("hard", choices=LOSSES, help="hard | uniform | kd (the train job's default: kd with --labels, hard without)")
    group_size: int = setting(8, type=positive_int, help="candidates per query per step (1 positive + the rest negatives)")
    negative_depth: int = setting(100, type=positive_int, help="negatives are drawn from each query's top N candidates")
    batch_size: int = setting(16, type=positive_int, help="queries per optimizer step over all processes")
    grad_accumulation: int = setting(1, type=positive_int)
    learning_rate: float = setting(2e-5)
    warmup_ratio: float = setting(0.1, type=non_negative_float)
    weight_decay: float = setting(0.01, type=non_negative_float)
    epochs: float = setting(1.0)
    steps: Optional[int] = setting(None, type=positive_int, help="number of optimizer steps (overrides --epochs)")
    seed: int = setting(42, type=int)
    temperature: float = setting(0.25, help="kd: teacher softmax temperature T")
    epsilon: float = setting(0.1, type=non_negative_float, help="uniform: label smoothing")
    student_temperature: float = setting(0.05, help="student scores are q.p / tau (0.05 = cosine x 20; the train job's "
                                                    "default: 0.05 for dense, 1 for teachers and joint, whose dense head has its own)")
    gradient_checkpointing: bool = setting(False)
    checkpoint_every: int = setting(200, type=positive_int)
    keep_checkpoints: int = setting(2, type=positive_int)
    precision: str = setting("auto", choices=("auto", "fp32", "bf16"), help="auto: bf16 on CUDA, fp32 on the CPU")
    device: str = setting("auto")
    max_grad_norm: float = setting(1.0)
    max_length: Optional[int] = setting(None, type=positive_int, help="dense: cut training passages and queries at N tokens "
                                                                      "(the saved model keeps its own length)")
    select_every: Optional[int] = setting(None, type=positive_int, help="with held-out queries to select on: score them every "
                                                                        "N steps and keep the best step (0 included)")

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
