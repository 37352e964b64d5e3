"""The pipeline's own profile sections as settings dataclasses, checked when a profile is loaded.

The model sections (``warm_start``, ``teacher``, ``cross_encoder``, ``students``) are the trainer's
:class:`~pyserini_ckd.training.config.TrainConfig` plus a few model keys, and ``labels`` is the labeler's
:class:`~pyserini_ckd.labeling.labelers.LabelSettings` (see :func:`pyserini_ckd.pipeline.config.check_settings`);
the sections here are those only the pipeline reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from ..errors import ConfigError, require_positive

FUSION_METHODS = ("linear", "rrf")
TUNE_ON = ("dev", "dev-unseen")


@dataclass
class ExperimentSettings:
    """The profile's top-level values."""

    base_model: str = "minilm"
    seeds: List[int] = field(default_factory=lambda: [42])
    holdout_fraction: float = 0.1
    train_queries_limit: Optional[int] = None
    transfer: List[str] = field(default_factory=list)
    selection_depth: int = 30

    def __post_init__(self) -> None:
        if not self.seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in self.seeds):
            raise ConfigError(f"seeds must not be empty and must be integers, got {self.seeds!r}")
        if not 0 <= self.holdout_fraction < 1:
            raise ConfigError(f"holdout_fraction must be in [0, 1), got {self.holdout_fraction}")
        if self.train_queries_limit is not None and self.train_queries_limit <= 0:
            raise ConfigError(f"train_queries_limit must be positive or null, got {self.train_queries_limit}")
        require_positive(self, "selection_depth", dashed=False)


@dataclass
class BM25Settings:
    """BM25 runs: depth of the test runs (``hits``), of the training queries' runs and of the hard negatives."""

    hits: int = 1000
    k1: float = 0.9
    b: float = 0.4
    negative_depth: int = 100
    train_hits: int = 100

    def __post_init__(self) -> None:
        from ..lucene.search import BM25Config

        BM25Config(hits=self.hits, k1=self.k1, b=self.b)  # the searcher's own checks
        require_positive(self, "negative_depth", "train_hits", dashed=False)


@dataclass
class EncoderSettings:
    """Encoding the corpora for dense search: passage and query lengths, batch size."""

    passage_max_length: int = 256
    query_max_length: int = 64
    batch_size: int = 32

    def __post_init__(self) -> None:
        require_positive(self, "passage_max_length", "query_max_length", "batch_size", dashed=False)


@dataclass
class FusionSettings:
    """BM25 + dense: the rule, its starting weight, and how it is tuned on dev queries."""

    method: str = "linear"
    normalization: bool = False
    alpha: float = 0.1
    rrf_k: float = 60.0
    tune_on: str = "dev"
    min_tuning_queries: int = 1
    significance: Optional[float] = None

    def __post_init__(self) -> None:
        if self.method not in FUSION_METHODS:
            raise ConfigError(f"method must be one of {', '.join(FUSION_METHODS)}, got {self.method!r}")
        if self.tune_on not in TUNE_ON:
            raise ConfigError(f"tune_on must be one of {', '.join(TUNE_ON)}, got {self.tune_on!r}")
        if self.alpha < 0 or self.rrf_k <= 0:
            raise ConfigError(f"alpha must be >= 0 and rrf_k positive, got {self.alpha} and {self.rrf_k}")
        require_positive(self, "min_tuning_queries", dashed=False)
        if self.significance is not None and not 0 < self.significance < 1:
            raise ConfigError(f"significance must be in (0, 1) or null, got {self.significance}")


SECTIONS = {"bm25": BM25Settings, "encoder": EncoderSettings, "fusion": FusionSettings}
