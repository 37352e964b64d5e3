"""A cross-encoder teacher: the backbone reads query and passage together, a linear head on [CLS] scores.

    s(q, d) = w . h_[CLS](BERT([CLS] q [SEP] d [SEP])) + b

Trained with the shared trainer (softmax cross-entropy over each query's own group: a cross-encoder has
no in-batch negatives, so other queries' passages are -inf in its score matrix). Saved as a directory:
backbone and tokenizer, ``head.safetensors`` and ``cross_encoder.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Sequence, Union

import torch

from ..dense.models import resolve_model
from ..errors import InputError
from .model_dir import save_model_dir

CONFIG_NAME = "cross_encoder.json"
HEAD_NAME = "head.safetensors"


def is_cross_encoder_dir(path: Union[str, Path]) -> bool:
    return (Path(path) / CONFIG_NAME).is_file()


class CrossEncoder(torch.nn.Module):
    def __init__(self, backbone, tokenizer, max_length: int = 256, head=None, source: str = "") -> None:
        super().__init__()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.head = head or torch.nn.Linear(backbone.config.hidden_size, 1)
        self.source = source

    @classmethod
    def build(cls, backbone_name: Union[str, Path] = "minilm", max_length: int = 256) -> "CrossEncoder":
        from transformers import AutoModel, AutoTokenizer

        path = resolve_model(backbone_name)
        return cls(AutoModel.from_pretrained(str(path)).float(), AutoTokenizer.from_pretrained(str(path)), max_length, source=str(path))

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
        return cls(backbone, AutoTokenizer.from_pretrained(str(path)), cfg["max_length"], head, str(path)).to(device).eval()

    def save(self, out_dir: Union[str, Path], extra=None) -> Path:
        return save_model_dir(out_dir, self.backbone, self.tokenizer, self.head, HEAD_NAME, CONFIG_NAME,
                              {"max_length": self.max_length}, extra)

    @property
    def device(self) -> torch.device:
        return next(self.backbone.parameters()).device

    def _inputs(self, queries: Sequence[str], passages: Sequence[str]):
        enc = self.tokenizer(list(queries), list(passages), truncation="only_second", max_length=self.max_length,
                             padding=True, return_tensors="pt")
        return {k: v.to(self.device) for k, v in enc.items()}

    def forward(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
        return self.head(hidden[:, 0]).squeeze(-1).float()

    @torch.inference_mode()
    def score(self, query: str, passages: Sequence[str], batch_size: int = 32) -> List[float]:
        out: List[float] = []
        dtype = torch.bfloat16 if self.device.type == "cuda" else None
        for start in range(0, len(passages), batch_size):
            chunk = passages[start:start + batch_size]
            with torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None):
                out.extend(self(**self._inputs([query] * len(chunk), chunk)).tolist())
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
