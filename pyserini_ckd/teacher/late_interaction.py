"""The late-interaction teacher: a ColBERT-style encoder on a Hugging Face backbone (MiniLM by default).

Token vectors are the backbone's last hidden states through a linear map to ``dim`` (128), L2
normalised. A query is ``[CLS] [Q] tokens [SEP]`` padded with ``[MASK]`` to ``query_maxlen`` (32) and
every position is used (query augmentation); a document is ``[CLS] [D] tokens [SEP]`` cut at
``doc_maxlen`` (180), with punctuation tokens masked out. [Q] and [D] are the vocabulary's
``[unused0]`` and ``[unused1]``, as in ColBERT. Scores: :mod:`.maxsim`.

Saved as a directory: the backbone (safetensors) and tokenizer, ``projection.safetensors`` and
``late_interaction.json``.
"""

from __future__ import annotations

import json
import string
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

from ..dense.batching import pad_ids
from ..dense.models import resolve_model
from ..errors import ConfigError, InputError
from .maxsim import SIMILARITIES, maxsim_pairwise
from .model_dir import save_model_dir

CONFIG_NAME = "late_interaction.json"
PROJECTION_NAME = "projection.safetensors"


@dataclass
class LateInteractionConfig:
    dim: int = 128
    query_maxlen: int = 32
    doc_maxlen: int = 180
    similarity: str = "l2"
    mask_punctuation: bool = True
    base_model: str = ""

    def __post_init__(self) -> None:
        if self.similarity not in SIMILARITIES:
            raise ConfigError(f"similarity must be one of {', '.join(SIMILARITIES)}, got {self.similarity!r}")
        for name in ("dim", "query_maxlen", "doc_maxlen"):
            if getattr(self, name) <= 3 if name != "dim" else getattr(self, name) <= 0:
                raise ConfigError(f"{name} is too small: {getattr(self, name)}")


def is_late_interaction_dir(path: Union[str, Path]) -> bool:
    return (Path(path) / CONFIG_NAME).is_file()


def load_head(path: Path, hidden_size: int) -> Tuple["LateInteractionConfig", torch.nn.Linear]:
    """The settings and the projection saved in a late-interaction folder (the backbone is the caller's)."""
    from safetensors.torch import load_file

    config = LateInteractionConfig(**json.loads((path / CONFIG_NAME).read_text()))
    projection = torch.nn.Linear(hidden_size, config.dim, bias=False)
    projection.load_state_dict(load_file(str(path / PROJECTION_NAME)))
    return config, projection


class LateInteractionEncoder(torch.nn.Module):
    def __init__(self, backbone, tokenizer, config: LateInteractionConfig, projection: Optional[torch.nn.Linear] = None,
                 source: str = "") -> None:
        super().__init__()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.config = config
        self.projection = projection or torch.nn.Linear(backbone.config.hidden_size, config.dim, bias=False)
        self.source = source
        vocab = tokenizer.get_vocab()
        self.q_marker = vocab.get("[unused0]", tokenizer.cls_token_id)
        self.d_marker = vocab.get("[unused1]", tokenizer.cls_token_id)
        self.skiplist = {vocab[c] for c in string.punctuation if c in vocab} if config.mask_punctuation else set()
        self.special_ids = {i for i in (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id,
                                        tokenizer.mask_token_id, tokenizer.unk_token_id, self.q_marker, self.d_marker) if i is not None}

    # ---- loading and saving -------------------------------------------------------------------------
    @classmethod
    def build(cls, backbone_name: Union[str, Path] = "minilm", device: str = "cpu", **settings) -> "LateInteractionEncoder":
        """A new teacher on a pretrained backbone (random projection, seeded by the caller)."""
        from transformers import AutoModel, AutoTokenizer

        path = resolve_model(backbone_name)
        config = LateInteractionConfig(base_model=str(backbone_name), **settings)
        return cls(AutoModel.from_pretrained(str(path)).float(), AutoTokenizer.from_pretrained(str(path)), config,
                   source=str(path)).to(device)

    @classmethod
    def load(cls, path: Union[str, Path], device: str = "cpu") -> "LateInteractionEncoder":
        from transformers import AutoModel, AutoTokenizer

        path = Path(path)
        if not is_late_interaction_dir(path):
            raise InputError(path, None, f"not a late-interaction teacher (no {CONFIG_NAME})")
        backbone = AutoModel.from_pretrained(str(path)).float()
        config, projection = load_head(path, backbone.config.hidden_size)
        model = cls(backbone, AutoTokenizer.from_pretrained(str(path)), config, projection, source=str(path))
        return model.to(device).eval()

    def save(self, out_dir: Union[str, Path], extra=None) -> Path:
        return save_model_dir(out_dir, self.backbone, self.tokenizer, self.projection, PROJECTION_NAME,
                              CONFIG_NAME, asdict(self.config), extra)

    @property
    def device(self) -> torch.device:
        return next(self.backbone.parameters()).device

    # ---- tokenisation -------------------------------------------------------------------------------
    def _ids(self, texts: Sequence[str], maxlen: int) -> List[List[int]]:
        return self.tokenizer(list(texts), add_special_tokens=False, truncation=True, max_length=maxlen - 3,
                              return_attention_mask=False, return_token_type_ids=False)["input_ids"]

    def query_ids(self, texts: Sequence[str]) -> List[List[int]]:
        cls_, sep, mask = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id, self.tokenizer.mask_token_id
        n = self.config.query_maxlen
        return [([cls_, self.q_marker] + ids + [sep] + [mask] * n)[:n] for ids in self._ids(texts, n)]

    def doc_ids(self, texts: Sequence[str]) -> List[List[int]]:
        cls_, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        return [[cls_, self.d_marker] + ids + [sep] for ids in self._ids(texts, self.config.doc_maxlen)]

    def pad(self, ids: Sequence[Sequence[int]], length: Optional[int] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        return pad_ids(ids, self.tokenizer.pad_token_id or 0, self.device, length)

    def doc_token_mask(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        keep = attention_mask.bool()
        for token in self.skiplist:
            keep &= input_ids != token
        return keep

    # ---- encoding -----------------------------------------------------------------------------------
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.project(hidden)

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        """Token vectors from token states: L2-normalised linear map to ``dim``."""
        return F.normalize(self.projection(hidden).float(), p=2, dim=-1)

    @torch.inference_mode()
    def encode_queries(self, texts: Sequence[str]) -> torch.Tensor:
        """(n, query_maxlen, dim) float32."""
        input_ids, mask = self.pad(self.query_ids(texts))
        return self(input_ids, mask).float()

    @torch.inference_mode()
    def encode_docs(self, texts: Sequence[str]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Token vectors (n, L, dim), kept-token mask (n, L) and token ids (n, L) of each document."""
        return self.encode_doc_ids(self.doc_ids(texts))

    @torch.inference_mode()
    def encode_doc_ids(self, ids: Sequence[Sequence[int]]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`encode_docs` of documents already tokenised by :meth:`doc_ids`."""
        input_ids, mask = self.pad(ids)
        return self(input_ids, mask).float(), self.doc_token_mask(input_ids, mask), input_ids

    def score(self, queries: Sequence[str], docs: Sequence[str]) -> torch.Tensor:
        """(Q, P) MaxSim scores (no expansion)."""
        q = self.encode_queries(queries)
        d, d_mask, _ = self.encode_docs(docs)
        return maxsim_pairwise(q, d, d_mask, self.config.similarity)

    # ---- the training interface (see pyserini_ckd.training.trainer) ----------------------------------
    def training_forward(self, engine, queries: Sequence[str], passages: Sequence[str]):
        q_ids, p_ids = self.query_ids(queries), self.doc_ids(passages)
        input_ids, mask = self.pad(q_ids + p_ids)
        emb = engine(input_ids, mask)
        nq = len(q_ids)
        return (emb[:nq, :self.config.query_maxlen],), self.fixed_docs(emb[nq:], input_ids[nq:], mask[nq:])

    def fixed_docs(self, emb: torch.Tensor, input_ids: torch.Tensor, mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Document token vectors and kept-token mask padded or cut to ``doc_maxlen`` (fixed shapes, so
        that processes can gather them)."""
        dlen = self.config.doc_maxlen
        p, p_mask = emb, self.doc_token_mask(input_ids, mask)
        pad = dlen - p.shape[1]
        if pad > 0:
            p = F.pad(p, (0, 0, 0, pad))
            p_mask = F.pad(p_mask, (0, pad))
        return p[:, :dlen], p_mask[:, :dlen]

    def pairwise_scores(self, q: tuple, p: tuple) -> torch.Tensor:
        return maxsim_pairwise(q[0], p[0], p[1], self.config.similarity)
