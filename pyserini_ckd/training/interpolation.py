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
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from ..data.records import Qrels, Query
from ..errors import ConfigError
from ..jobs import setting

logger = logging.getLogger(__name__)

COPIED = ("train_config.json", "train_log.jsonl", "loss.png")  # what the interpolated folder keeps of the trained one

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


@dataclass
class InterpolateJob:
    """theta = (1 - lambda) theta_0 + lambda theta, lambda fixed or chosen on held-out training queries."""

    start: str = setting(help="the model training started from (theta_0; a folder or 'minilm')")
    model: str = setting(help="the trained dense model folder (theta)")
    output: Path = setting(type=Path, help="dense model folder to write")
    lam: Optional[float] = setting(None, type=float, flags=["--lambda"], help="a fixed lambda in [0, 1]")
    lambdas: Optional[List[float]] = setting(None, type=float, nargs="+", help="the grid to choose from (default 0 0.25 0.5 0.75 1)")
    dataset: Optional[str] = setting(None, help="with --qrels: the corpus and queries")
    qrels: Optional[str] = setting(None, help="held-out queries' qrels to choose lambda on (file or DATASET:SPLIT; never test)")
    unseen_from: Optional[str] = setting(None, help="keep only held-out queries whose relevant passages this qrels spec never marks")
    rerank: Optional[Path] = setting(None, type=Path, help="with --qrels: judge each lambda by re-ranking this run's top --depth "
                                                           "documents of the held-out queries (the trainer's model selection) "
                                                           "instead of searching the whole corpus")
    depth: int = setting(30, type=int, help="with --rerank: candidates per query")
    device: str = setting("cpu")

    def __post_init__(self) -> None:
        self.output = Path(self.output)
        if (self.lam is None) == (self.qrels is None):
            raise ConfigError("give either --lambda or --qrels (with --dataset) to choose it on held-out queries")
        if self.qrels and not self.dataset:
            raise ConfigError("--qrels needs --dataset")
        if self.qrels and ":" in self.qrels and self.qrels.rsplit(":", 1)[1].startswith("test"):
            raise ConfigError(f"--qrels {self.qrels}: lambda is chosen on held-out training queries, never on a test split")


def run_interpolate(job: InterpolateJob) -> None:
    """Write the interpolated model folder (lambda fixed, or chosen on held-out queries), its record and card."""
    from ..atomic import prepare_parent
    from ..data.datasets import load_qrels_spec, resolve_dataset
    from ..dense.encoder import DenseEncoder
    
    prepare_parent(job.output)
    start = DenseEncoder.load(job.start, device=job.device)
    trained = DenseEncoder.load(job.model, device=job.device)
    record = {"start": str(job.start), "model": str(job.model)}
    if job.lam is not None:
        lam = job.lam
    else:
        dataset = resolve_dataset(job.dataset)
        qrels = load_qrels_spec(job.qrels, dataset)
        if job.unseen_from:
            from ..retrieval.fusion_tuning import unseen_slice

            qrels = unseen_slice(qrels, load_qrels_spec(job.unseen_from, dataset))
        queries = {q: dataset.queries[q] for q in qrels if q in dataset.queries}
        passages = {d: doc.contents for d, doc in dataset.corpus.items()}
        selection = None
        if job.rerank:
            from ..data.runs import read_run
            from .selection import selection_set

            selection = selection_set({q: qrels[q] for q in queries}, read_run(job.rerank), queries, job.depth, job.rerank)
        lam, grid = choose_lambda(start, trained, passages, queries, qrels, job.lambdas or DEFAULT_GRID, selection=selection)
        record.update({"qrels": job.qrels, "unseen_from": job.unseen_from, "queries": len(queries), "grid": grid,
                       "judged_by": f"re-ranking the top {job.depth} of {job.rerank}" if job.rerank else "exact search"})
        for row in grid:
            logger.info("lambda %.2f: nDCG@10 %.4f on %d held-out queries", row["lambda"], row["nDCG@10"], len(queries))
    record["lambda"] = lam

    def extra(tmp: Path) -> None:
        for name in COPIED:
            if (Path(job.model) / name).is_file():
                shutil.copy(Path(job.model) / name, tmp / name)
        (tmp / "interpolation.json").write_text(json.dumps(record, indent=1))

    interpolated_model(start, trained, lam).save(job.output, extra=extra)
    _write_card(job, record)
    print(f"wrote {job.output} with lambda {lam}")


def _write_card(job: InterpolateJob, record: dict) -> None:
    """The trained model's card facts, plus how the interpolation was chosen."""
    from .model_card import CARD_NAME, read_front_matter, write_model_card

    if not (job.output / "train_config.json").is_file():
        return
    datasets = read_front_matter(Path(job.model) / CARD_NAME).get("datasets") or [job.dataset or "unknown"]
    path = write_model_card(job.output, "dense", str(datasets[0]))
    lines = ["", "## Interpolation", "", f"theta = (1 - lambda) theta_0 + lambda theta with theta_0 = `{record['start']}`, "
             f"theta = `{record['model']}`, lambda = {record['lambda']}"]
    if "grid" in record:
        lines += [f"(chosen by nDCG@10 on {record['queries']} held-out queries of `{record['qrels']}`)", "",
                  "| lambda | nDCG@10 |", "|---|---|"] + [f"| {r['lambda']} | {r['nDCG@10']} |" for r in record["grid"]]
    path.write_text(path.read_text() + "\n".join(lines) + "\n")
