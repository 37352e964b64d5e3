"""A cross-encoder teacher: the backbone reads query and passage together, a linear head scores.

    s(q, d) = w . pool(BERT([CLS] q [SEP] d [SEP])) + b

``pool`` is the mean of the token states over the attention mask (``pooling: mean``, the default: a
sentence-embedding backbone such as MiniLM was trained to make that mean meaningful, so the head learns
from few steps) or the [CLS] state (``pooling: cls``, the BERT convention; folders saved before the
option existed load as ``cls``).

Trained with the shared trainer (softmax cross-entropy over each query's own group: a cross-encoder has
no in-batch negatives, so other queries' passages are -inf in its score matrix). Saved as a directory:
backbone and tokenizer, ``head.safetensors`` and ``cross_encoder.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Sequence, Union

import torch

from ..dense.batching import pad_ids, token_budget_batches
from ..dense.encoder import _autocast_dtype, mean_pool
from ..dense.models import resolve_model
from ..errors import ConfigError, InputError
from .model_dir import save_model_dir

CONFIG_NAME = "cross_encoder.json"
HEAD_NAME = "head.safetensors"


def is_cross_encoder_dir(path: Union[str, Path]) -> bool:
    return (Path(path) / CONFIG_NAME).is_file()


class CrossEncoder(torch.nn.Module):
    def __init__(self, backbone, tokenizer, max_length: int = 256, head=None, source: str = "", pooling: str = "mean") -> None:
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ConfigError(f"cross-encoder pooling must be mean or cls, got {pooling!r}")
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.pooling = pooling
        self.head = head or torch.nn.Linear(backbone.config.hidden_size, 1)
        self.source = source

    @classmethod
    def build(cls, backbone_name: Union[str, Path] = "minilm", max_length: int = 256, pooling: str = "mean") -> "CrossEncoder":
        from transformers import AutoModel, AutoTokenizer

        path = resolve_model(backbone_name)
        return cls(AutoModel.from_pretrained(str(path)).float(), AutoTokenizer.from_pretrained(str(path)), max_length,
                   source=str(path), pooling=pooling)

    @classmethod
    def load(cls, path: Union[str, Path], device: str = "cpu") -> "CrossEncoder":
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        path = Path(path)
        if not is_cross_encoder_dir(path):
            raise InputError(path, None, f"not a cross-encoder (no {CONFIG_NAME})")
        cfg = json.loads((path / CONFIG_NAME).read_text())
        backbone = AutoModel.from_pretrained(str(path)).float()
        head = torch.nn.Linear(backbone.config.hidden_size, 1)
        head.load_state_dict(load_file(str(path / HEAD_NAME)))
        return cls(backbone, AutoTokenizer.from_pretrained(str(path)), cfg["max_length"], head, str(path),
                   cfg.get("pooling", "cls")).to(device).eval()

    def save(self, out_dir: Union[str, Path], extra=None) -> Path:
        return save_model_dir(out_dir, self.backbone, self.tokenizer, self.head, HEAD_NAME, CONFIG_NAME,
                              {"max_length": self.max_length, "pooling": self.pooling}, extra)

    @property
    def device(self) -> torch.device:
        return next(self.backbone.parameters()).device

    def _pairs(self, queries: Sequence[str], passages: Sequence[str], **kwargs):
        """The tokenizer's encoding of each (query, passage) pair, cut to ``max_length``."""
        # longest_first: the passage is cut first, as only_second would, but a query longer than max_length (cacm has
        # some) is cut too instead of failing; with queries under half of max_length the two are the same
        return self.tokenizer(list(queries), list(passages), truncation="longest_first", max_length=self.max_length,
                              **kwargs)

    def _inputs(self, queries: Sequence[str], passages: Sequence[str]):
        enc = self._pairs(queries, passages, padding=True, return_tensors="pt")
        return {k: v.to(self.device) for k, v in enc.items()}

    def forward(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
        pooled = hidden[:, 0] if self.pooling == "cls" else mean_pool(hidden, attention_mask)
        return self.head(pooled).squeeze(-1).float()

    @torch.inference_mode()
    def score(self, query: str, passages: Sequence[str], batch_size: int = 32) -> List[float]:
        """The score of each (query, passage) pair, in the passages' order. The pairs go through the model in
        length-sorted batches: little padding, and none in the batches of pairs that reach ``max_length``."""
        out = [0.0] * len(passages)
        if not len(passages):
            return out
        dtype = _autocast_dtype("auto", self.device)  # bf16 on CUDA and on CPUs with native bf16, as passages are encoded
        enc = self._pairs([query] * len(passages), passages)
        ids, types = enc["input_ids"], enc.get("token_type_ids")  # models without segments have none
        longest = max(len(x) for x in ids)
        for batch in token_budget_batches([len(x) for x in ids], batch_size * longest, batch_size):
            input_ids, mask = pad_ids([ids[i] for i in batch], self.tokenizer.pad_token_id or 0, self.device)
            token_type_ids = None if types is None else pad_ids([types[i] for i in batch], 0, self.device)[0]
            with torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None):
                scores = self(input_ids, mask, token_type_ids).tolist()
            for i, score in zip(batch, scores):
                out[i] = score
        return out

    # ---- the training interface (see pyserini_ckd.training.trainer) ----------------------------------
    def training_forward(self, engine, queries: Sequence[str], passages: Sequence[str]):
        g = len(passages) // len(queries)
        scores = engine(**self._inputs([q for q in queries for _ in range(g)], passages))
        return (scores.view(len(queries), g),), ()

    @staticmethod
    def pairwise_scores(q: tuple, p: tuple) -> torch.Tensor:
        """(Q, G) pair scores -> (Q, Q*G): each row's own block, -inf elsewhere (no in-batch negatives)."""
        s = q[0]
        n, g = s.shape
        full = torch.full((n, n * g), float("-inf"), dtype=s.dtype, device=s.device)
        rows = torch.arange(n, device=s.device)[:, None]
        cols = rows * g + torch.arange(g, device=s.device)[None, :]
        return full.index_put((rows.expand(n, g), cols), s)
