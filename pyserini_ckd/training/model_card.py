"""The ``README.md`` model card every trained model folder carries, in the Hugging Face format.

YAML front matter (``base_model``, ``library_name``, ``pipeline_tag``, ``tags``, ``datasets``,
``metrics`` and, once the pipeline has evaluated the model, ``model-index`` with one result per dataset
and split), then how the model was trained: kind, loss and labeler, teacher and its temperature, steps,
learning rate, teacher cost, and the evaluation table. Generated from the folder's
``train_config.json`` and the labels' ``.meta.json``; never hand-written. It is what pushing to a hub
needs; ``huggingface_hub.ModelCard.load`` parses it (tested).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Mapping, Optional, Union

from ..atomic import atomic_output

CARD_NAME = "README.md"
MINILM_HUB_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MEASURE_IDS = {"nDCG@10": "ndcg_at_10", "RR@10": "mrr_at_10", "R@100": "recall_at_100", "R@1000": "recall_at_1000"}
_KIND_LIBRARY = {"dense": ("sentence-transformers", "sentence-similarity"), "joint": ("sentence-transformers", "sentence-similarity"),
                 "late-interaction": ("transformers", "feature-extraction"), "cross-encoder": ("transformers", "text-ranking")}


def base_model_name(init: Union[str, Path]) -> str:
    """The hub name of the model a training started from: MiniLM for the alias or the wheel's folder, the
    root of a chain of our own folders (read from their cards), else the folder as given."""
    from ..dense.models import MINILM_ALIASES, minilm_path

    text = str(init)
    if text.lower() in (a.lower() for a in MINILM_ALIASES):
        return MINILM_HUB_NAME
    path = Path(text)
    try:
        if path.resolve() == minilm_path().resolve():
            return MINILM_HUB_NAME
    except (ImportError, OSError):
        pass
    named = str(read_front_matter(path / CARD_NAME).get("base_model") or "")
    if named and Path(named).is_dir() and Path(named).resolve() != path.resolve():
        return base_model_name(named)  # a local folder: follow the chain to where it started
    if named:
        return named
    recorded = _recorded_base(path)
    if recorded and Path(recorded) != path:
        return base_model_name(recorded)
    return text


def _recorded_base(path: Path) -> str:
    """The ``base_model`` a folder's ``pyserini_ckd.json`` records (where it was first loaded from), if any."""
    config = path / "pyserini_ckd.json"
    try:
        return str(json.loads(config.read_text()).get("base_model") or "") if config.is_file() else ""
    except ValueError:
        return ""


def read_front_matter(path: Path) -> dict:
    if not path.is_file():
        return {}
    import yaml

    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}
    return yaml.safe_load(text.split("---\n", 2)[1]) or {}


def _dataset_name(dataset: str) -> str:
    return Path(str(dataset).rstrip("/")).name or str(dataset)


def render(model_dir: Union[str, Path], kind: str, dataset: str, labels_meta: Optional[Mapping] = None,
           evaluation: Optional[Mapping[str, Mapping[str, float]]] = None, split: str = "train") -> str:
    """The card's text for a model folder that has its ``train_config.json``.

    ``evaluation`` maps "DATASET.SPLIT" (or "DATASET") to {measure: value}, measures as ir-measures names.
    """
    import yaml

    model_dir = Path(model_dir)
    summary = json.loads((model_dir / "train_config.json").read_text())
    config = summary["config"]
    library, pipeline_tag = _KIND_LIBRARY.get(kind, ("transformers", "feature-extraction"))
    name = model_dir.name
    data = _dataset_name(dataset)
    front: Dict[str, object] = {
        "base_model": base_model_name(config["init"]),
        "library_name": library,
        "pipeline_tag": pipeline_tag,
        "tags": ["pyserini", "pyserini_ckd", "dense-retrieval" if kind in ("dense", "joint") else f"{kind}-teacher",
                 "knowledge-distillation" if config["loss"] == "kd" else f"{config['loss']}-labels"]
                + (["sentence-transformers", "feature-extraction"] if library == "sentence-transformers" else []),
        "datasets": [data],
        "metrics": sorted({MEASURE_IDS.get(m, m) for scores in (evaluation or {}).values() for m in scores}) or ["ndcg_at_10"],
    }
    if evaluation:
        results = []
        for key, scores in evaluation.items():
            dataset_name, _, view = key.partition(".")
            entry = {"name": dataset_name, "type": dataset_name}
            if view:
                entry["split"] = view
            results.append({"task": {"type": "retrieval", "name": "Retrieval"}, "dataset": entry,
                            "metrics": [{"type": MEASURE_IDS.get(m, m), "value": round(float(v), 4), "name": m}
                                        for m, v in scores.items()]})
        front["model-index"] = [{"name": name, "results": results}]
    lines = ["---", yaml.safe_dump(front, sort_keys=False).rstrip(), "---", "", f"# {name}", ""]
    what = {"dense": "A single-vector dense retriever (mean-pooled, L2-normalised embeddings; score = cosine)",
            "joint": "A single-vector dense retriever with a late-interaction head trained beside it (the folder is also a teacher)",
            "late-interaction": "A late-interaction (ColBERT-style) teacher", "cross-encoder": "A cross-encoder teacher"}
    lines += [f"{what.get(kind, kind)}, trained with pyserini_ckd (collective knowledge distillation as a Pyserini "
              f"plug-in) from `{front['base_model']}` on {data}'s `{split}` queries.", ""]
    if kind in ("dense", "joint"):
        lines += ["```python", "from sentence_transformers import SentenceTransformer",
                  f'model = SentenceTransformer("{name}")  # pooling and normalisation come from the folder', "```", "",
                  "With Pyserini: `python -m pyserini_ckd.pyserini_run pyserini.search.faiss --index INDEX "
                  f"--encoder {name} --topics TOPICS --output RUN` picks this model's own encoder.", ""]
    rows = [("kind", kind), ("loss", config["loss"])]
    if labels_meta:
        rows += [("labeler", labels_meta.get("labeler")), ("teacher", labels_meta.get("teacher")),
                 ("teacher kind", labels_meta.get("teacher_kind")),
                 ("teacher cost (s)", labels_meta.get("teacher_cost_seconds"))]
    if config["loss"] == "kd":
        rows.append(("temperature (teacher softmax)", config["temperature"]))
    if config["loss"] == "uniform":
        rows.append(("epsilon", config["epsilon"]))
    rows += [("steps", summary.get("steps")), ("queries", summary.get("queries")), ("batch size", config["batch_size"]),
             ("group size", config["group_size"]), ("learning rate", config["learning_rate"]), ("seed", config["seed"]),
             ("training seconds", summary.get("train_seconds")), ("device", summary.get("device"))]
    lines += ["## Training", "", "| setting | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows if v is not None]
    if evaluation:
        measures = sorted({m for scores in evaluation.values() for m in scores})
        lines += ["", "## Evaluation", "", "| dataset | " + " | ".join(measures) + " |", "|---" * (len(measures) + 1) + "|"]
        for key, scores in evaluation.items():
            lines.append(f"| {key} | " + " | ".join(f"{scores[m]:.4f}" if m in scores else "" for m in measures) + " |")
    lines += ["", "Full settings: `train_config.json`; loss per step: `train_log.jsonl` and `loss.png`.", ""]
    return "\n".join(lines)


def write_model_card(model_dir: Union[str, Path], kind: str, dataset: str, labels_meta: Optional[Mapping] = None,
                     evaluation: Optional[Mapping[str, Mapping[str, float]]] = None, split: str = "train") -> Path:
    path = Path(model_dir) / CARD_NAME
    with atomic_output(path) as tmp:
        tmp.write_text(render(model_dir, kind, dataset, labels_meta, evaluation, split), encoding="utf-8")
    return path


def labels_meta_for(labels: Optional[Union[str, Path]]) -> Optional[dict]:
    """The ``.meta.json`` beside a labels file, if any."""
    if not labels:
        return None
    from ..labeling.labels import meta_path

    meta = meta_path(labels)
    return json.loads(meta.read_text()) if meta.is_file() else None
