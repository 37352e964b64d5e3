"""The hard-label checkpoint with a late-interaction head: one backbone, a dense scorer and a ColBERT scorer.

In the paper the teacher is the retriever every student starts from, so the collective teacher costs
no training of its own. The student here is a single-vector encoder; this model gives it a
late-interaction head on the same backbone, trained together on the same batches:

    L = CE(y, softmax(S_dense / tau)) + lambda * CE(y, softmax(S_maxsim))

with S_dense[i, j] = q_i . p_j over the dense (pooled, normalised) embeddings, S_maxsim the ColBERT
scores of the head (:mod:`.late_interaction`: [Q]/[D] markers, [MASK] padding, punctuation masked),
y the batch's targets (hard labels for the warm start), tau = ``dense_temperature`` (0.05) and
lambda = ``li_weight`` (1.0). Both scorers read the same backbone; one micro-batch runs the backbone
twice inside one ``forward`` (queries, then passages; each pass holds both tokenisations), so
DistributedDataParallel still sees one forward per backward.

Saved as one folder that is at once a dense model folder (``DenseEncoder``, Pyserini and
sentence-transformers load it and ignore the rest) and a late-interaction teacher folder
(``late_interaction.json``, ``projection.safetensors``), with ``joint.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import torch

from ..dense.batching import pad_ids
from ..dense.encoder import DenseEncoder
from ..errors import ConfigError, InputError, require_positive
from .late_interaction import (CONFIG_NAME, PROJECTION_NAME, LateInteractionConfig, LateInteractionEncoder,
                               is_late_interaction_dir, load_head)
from .maxsim import maxsim_pairwise

JOINT_NAME = "joint.json"


@dataclass
class JointConfig:
    dense_temperature: float = 0.05  # dense scores q.p / tau (cosine x 20), as the student's
    li_weight: float = 1.0  # lambda: weight of the late-interaction loss

    def __post_init__(self) -> None:
        require_positive(self, "dense_temperature")
        if self.li_weight < 0:
            raise ConfigError(f"li_weight must be >= 0, got {self.li_weight}")


def is_joint_dir(path: Union[str, Path]) -> bool:
    return (Path(path) / JOINT_NAME).is_file() and is_late_interaction_dir(path)


class JointEncoder(torch.nn.Module):
    """``backbone`` and ``projection`` are the modules; ``dense`` and ``late_interaction`` read them."""

    def __init__(self, dense: DenseEncoder, li_config: LateInteractionConfig, projection=None,
                 config: Optional[JointConfig] = None) -> None:
        super().__init__()
        self.backbone = dense.backbone
        li = LateInteractionEncoder(dense.backbone, dense.tokenizer, li_config, projection, source=dense.source)
        self.projection = li.projection
        self.config = config or JointConfig()
        # helpers sharing the modules above, kept out of the module tree (no duplicate parameters)
        self.__dict__["dense"] = dense
        self.__dict__["late_interaction"] = li

    @classmethod
    def build(cls, dense_dir: Union[str, Path], config: Optional[JointConfig] = None, **li_settings) -> "JointEncoder":
        """A dense model folder with a new (random, seeded by the caller) late-interaction head."""
        dense = DenseEncoder.load(dense_dir)
        return cls(dense, LateInteractionConfig(base_model=str(dense_dir), **li_settings), config=config)

    @classmethod
    def load(cls, path: Union[str, Path], device: str = "cpu") -> "JointEncoder":
        path = Path(path)
        if not is_joint_dir(path):
            raise InputError(path, None, f"not a joint model folder (no {JOINT_NAME} or {CONFIG_NAME})")
        dense = DenseEncoder.load(path)
        li_config, projection = load_head(path, dense.dimension)
        model = cls(dense, li_config, projection, JointConfig(**json.loads((path / JOINT_NAME).read_text())))
        return model.to(device).eval()

    def save(self, out_dir: Union[str, Path], extra=None) -> Path:
        from safetensors.torch import save_file

        def write(tmp: Path) -> None:
            save_file({k: v.contiguous() for k, v in self.projection.state_dict().items()}, str(tmp / PROJECTION_NAME))
            (tmp / CONFIG_NAME).write_text(json.dumps(asdict(self.late_interaction.config), indent=2) + "\n")
            (tmp / JOINT_NAME).write_text(json.dumps(asdict(self.config), indent=2) + "\n")
            if extra is not None:
                extra(tmp)
        return self.dense.save(out_dir, extra=write)

    def forward(self, inputs: Sequence[Tuple[torch.Tensor, torch.Tensor]]) -> List[torch.Tensor]:
        """Last hidden states of each (input_ids, attention_mask) pair."""
        return [self.backbone(input_ids=ids, attention_mask=mask).last_hidden_state for ids, mask in inputs]

    # ---- the training interface (see pyserini_ckd.training.trainer) ----------------------------------
    def training_forward(self, engine, queries: Sequence[str], passages: Sequence[str]):
        dense, li = self.dense, self.late_interaction
        pad_id = dense.tokenizer.pad_token_id or 0
        device = dense.device
        dq, lq = dense.tokenize(queries, "query"), li.query_ids(queries)
        dp, lp = dense.tokenize(passages, "passage"), li.doc_ids(passages)
        q_ids, q_mask = pad_ids(dq + lq, pad_id, device)
        p_ids, p_mask = pad_ids(dp + lp, pad_id, device)
        hq, hp = engine([(q_ids, q_mask), (p_ids, p_mask)])
        nq, n_p = len(dq), len(dp)
        dense_q, dense_p = dense.pool(hq[:nq], q_mask[:nq]).float(), dense.pool(hp[:n_p], p_mask[:n_p]).float()
        li_q = li.project(hq[nq:, :li.config.query_maxlen])
        li_p, li_p_mask = li.fixed_docs(li.project(hp[n_p:]), p_ids[n_p:], p_mask[n_p:])
        return (dense_q, li_q), (dense_p, li_p, li_p_mask)

    def pairwise_scores(self, q: tuple, p: tuple) -> torch.Tensor:
        """(2, Q, P): dense scores / tau and MaxSim scores; the trainer sums the heads' losses (weights
        :attr:`head_weights`)."""
        dense = q[0] @ p[0].T / self.config.dense_temperature
        return torch.stack([dense, maxsim_pairwise(q[1], p[1], p[2], self.late_interaction.config.similarity)])

    @property
    def head_weights(self) -> Tuple[float, float]:
        return 1.0, self.config.li_weight
