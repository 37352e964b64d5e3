"""Weight-space interpolation between the model training started from and the trained one.

    theta(lambda) = (1 - lambda) theta_0 + lambda theta,    lambda in [0, 1]

for every floating-point tensor of the backbone (integer buffers, such as position ids, are the trained
model's). lambda = 1 is the trained model, 0 the start. Fine-tuning on a few hundred queries moves a
retriever towards what those queries share; part of the way back keeps what the start knew about other
questions (Wortsman et al., 2022, "Robust fine-tuning of zero-shot models"). ``choose_lambda`` picks
lambda on held-out queries (never test): each model of the grid encodes the corpus, searches the
queries exactly and is scored by nDCG@10; the best wins, ties to the larger lambda. Given a
:class:`~.selection.SelectionSet` instead, each model re-ranks the held-out queries' fixed candidate lists
(the trainer's model selection, :mod:`.selection`; |Q| x depth passages per lambda instead of the corpus).
"""

from __future__ import annotations

import copy
from typing import Dict, List, Mapping, Sequence, Tuple

import torch

from ..data.records import Qrels, Query
from ..errors import ConfigError

DEFAULT_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


def interpolate_state(start: Mapping[str, torch.Tensor], trained: Mapping[str, torch.Tensor], lam: float) -> Dict[str, torch.Tensor]:
    """(1 - lam) start + lam trained, tensor by tensor; both must have the same names and shapes."""
    if not 0.0 <= lam <= 1.0:
        raise ConfigError(f"lambda must be in [0, 1], got {lam}")
    if set(start) != set(trained):
        missing = sorted(set(start) ^ set(trained))[:3]
        raise ConfigError(f"the two models differ in their tensors ({', '.join(missing)} ...): not the same architecture")
    out = {}
    for name, theta in trained.items():
        theta0 = start[name]
        if theta0.shape != theta.shape:
            raise ConfigError(f"tensor {name} has shape {tuple(theta0.shape)} in the start model and {tuple(theta.shape)} trained")
        out[name] = torch.lerp(theta0.float(), theta.float(), lam).to(theta.dtype) if theta.is_floating_point() else theta.clone()
    return out


def interpolated_model(start, trained, lam: float):
    """A copy of the trained :class:`~pyserini_ckd.dense.encoder.DenseEncoder` with interpolated backbone weights."""
    model = copy.deepcopy(trained)
    model.backbone.load_state_dict(interpolate_state(start.backbone.state_dict(), trained.backbone.state_dict(), lam))
    return model.eval()


def choose_lambda(start, trained, passages: Mapping[str, str], queries: Mapping[str, Query], qrels: Qrels,
                  grid: Sequence[float] = DEFAULT_GRID, batch_size: int = 32, hits: int = 100,
                  selection=None) -> Tuple[float, List[dict]]:
    """The grid's best lambda by nDCG@10 of exact dense search on ``queries`` (judged by ``qrels``), or of
    re-ranking ``selection``'s candidate lists when it is given."""
    from ..dense.search import exact_search
    from ..metrics import evaluate_run

    if not queries and selection is None:
        raise ConfigError("no held-out queries to choose lambda on")
    docids = list(passages)
    texts = [passages[d] for d in docids]
    table = []
    for lam in sorted(set(grid)):
        model = interpolated_model(start, trained, lam)
        if selection is not None:
            from .selection import evaluate

            table.append({"lambda": lam, "nDCG@10": round(evaluate(model, selection, passages), 4)})
            continue
        vectors = model.encode(texts, kind="passage", batch_size=batch_size)
        run = exact_search(model, vectors, docids, queries, hits)
        table.append({"lambda": lam, "nDCG@10": round(evaluate_run(run, qrels, ["nDCG@10"]).aggregates["nDCG@10"], 4)})
    best = max(table, key=lambda row: (row["nDCG@10"], row["lambda"]))
    return best["lambda"], table
