"""The whole experiment as cached stages (see :mod:`.stages`), run in-process through the package's CLIs.

Stages, for the main dataset D (with train and test qrels) and each transfer dataset X:

    bm25-index.{D,X} -> bm25-negatives (D train) -> bm25-run.D.train, bm25-run.{D,X}.test
    warm-start (dense student, hard labels)      teacher-late-interaction      teacher-cross-encoder (full)
    (with teacher.from_warm_start the warm start carries the late-interaction head: no teacher stage)
    labels.LABELER (from the teachers)           student.SYSTEM.sSEED (from the warm start)
    encode.SYSTEM.{D,X} -> run.SYSTEM.{D,X}      dev runs -> hybrid-collective (alpha tuned on the dev slice's unseen part)

The dev slice is a fixed hash-chosen share of the train queries (``holdout_fraction``) that no model
trains on: it judges the labelers' rankings and tunes the fusion weight. Test is never used to tune.

Options that make the labeler comparison fair (the ``compare-cpu`` profile uses them all):

- ``labels.pool``: one candidate pool for every labeler (``labels.pool`` stage: positives, BM25's top and the
  plain teacher's top, ``W/labels/pool.jsonl``); hard, uniform and the teachers' labels all score exactly
  those candidates, and every student draws its negatives from them: the labelers differ only in targets;
- ``students.temperature: "dev"``: each teacher labeler's temperature is chosen on the dev rows of its labels
  (:mod:`pyserini_ckd.labeling.temperature`), recorded in ``W/labels/LABELER.temperature.json``;
- ``select_every`` in a model's training settings: the trainer scores the dev queries whose relevant
  documents no training query has (``W/D/qrels-dev-unseen.tsv``; the whole dev slice when fewer than
  ``fusion.min_tuning_queries`` are unseen: ``W/D/qrels-select.tsv`` holds the choice) every N steps,
  re-ranking BM25's top ``selection_depth``, and keeps the best step (the start included;
  :mod:`pyserini_ckd.training.selection`);
- ``warm_start: null``: no hard-label warm start; students start from the base model.

``labels.ranked: "held-out"`` writes the labelers' rankings (``W/runs/labeler-NAME``) for the dev slice only,
all the report reads; the collective labeler then skips the expanded query's search over the collection for the
training queries (same labels; ``benchmarks/teacher_cost.py``'s configurations use it). The default, ``"all"``,
ranks every query (``benchmarks/sparse_labels.py`` audits the training queries' rankings).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional

from ..data.datasets import Dataset, resolve_dataset
from ..data.records import Run
from ..data.runs import read_run, write_run
from ..labeling.labelers import CE_TEACHER, LABELERS, LI_TEACHER
from .config import CE_MODEL_KEYS, JOINT_KEYS, LI_MODEL_KEYS, PipelineConfig, label_values
from .stages import Registry, Stage

if TYPE_CHECKING:
    from ..labeling.job import LabelJob
    from ..training.job import TrainJob

logger = logging.getLogger(__name__)

# the loss a student of each labeler's labels trains with (the labelers' registry says)
STUDENT_LOSS = {name: labeler.student_loss for name, labeler in LABELERS.items()}


def corpus_fingerprint(dataset: Dataset) -> str:
    digest = hashlib.sha256()
    with open(dataset.corpus_path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()[:16]


class Experiment:
    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self.s = config.settings
        self.w = config.workdir
        self.main = resolve_dataset(config.dataset)
        self.transfer = [resolve_dataset(name) for name in self.s["transfer"]]
        self.datasets = [self.main] + self.transfer
        self.name = {id(d): d.name for d in self.datasets}
        self.fingerprint = {d.name: corpus_fingerprint(d) for d in self.datasets}
        self.seed0 = self.s["seeds"][0]
        self.reg = Registry(self.w / "stamps")
        self.labelers = list(self.s["labels"]["labelers"])
        self._build()

    @property
    def teacher_is_warm_start(self) -> bool:
        """``teacher.from_warm_start``: the hard-label warm start is trained with a late-interaction head
        (:mod:`pyserini_ckd.teacher.joint`) and that head is the teacher; no teacher stage of its own."""
        return bool(self.s["teacher"].get("from_warm_start", False))

    @property
    def li_teacher_dir(self) -> Path:
        """The late-interaction teacher's folder (the warm start's with ``teacher.from_warm_start``)."""
        return self.model_dir("student-hard-warm" if self.teacher_is_warm_start else "teacher-li")

    # ---- paths ----------------------------------------------------------------------------------
    def run_path(self, system: str, dataset: str, split: str = "test") -> Path:
        return self.w / "runs" / f"{system}.{dataset}.{split}.trec"

    def model_dir(self, name: str) -> Path:
        return self.w / "models" / name

    @property
    def negatives(self) -> Path:
        return self.w / self.main.name / "bm25-negatives.train.jsonl"

    @property
    def dev_qrels(self) -> Path:
        return self.w / self.main.name / "qrels-dev.tsv"

    @property
    def dev_unseen_qrels(self) -> Path:
        return self.w / self.main.name / "qrels-dev-unseen.tsv"

    @property
    def selection_qrels(self) -> Path:
        """The queries model selection judges on: the unseen dev slice, or all dev queries if it is too small."""
        return self.w / self.main.name / "qrels-select.tsv"

    @property
    def pooled(self) -> bool:
        """``labels.pool``: every labeler scores the plain teacher's pool (``W/labels/pool.jsonl``)."""
        return bool(self.s["labels"].get("pool", False))

    @property
    def pool_path(self) -> Path:
        return self.w / "labels" / "pool.jsonl"

    def labels_path(self, labeler: str) -> Path:
        return self.w / "labels" / f"{labeler}.jsonl"

    def temperature_path(self, labeler: str) -> Path:
        return self.w / "labels" / f"{labeler}.temperature.json"

    @property
    def warm_dir(self) -> Optional[Path]:
        """The hard-label warm start every student starts from (None with ``warm_start: null``)."""
        return None if self.s.get("warm_start") is None else self.model_dir("student-hard-warm")

    def systems(self) -> List[str]:
        """Dense systems: zero-shot and one student per labeler and seed (first seed: plain name)."""
        out = ["zeroshot"]  # the base model as shipped
        for system in ["hard"] + [l for l in self.labelers if l in STUDENT_LOSS and l != "hard"]:
            for seed in self.s["seeds"]:
                out.append(self.student_name(system, seed))
        return out

    def student_name(self, system: str, seed: int) -> str:
        return f"student-{system}" + ("" if seed == self.seed0 else f".s{seed}")

    # ---- stages ---------------------------------------------------------------------------------
    def _build(self) -> None:
        s, reg, main = self.s, self.reg, self.main
        bm25 = s["bm25"]
        self.index_stage: Dict[str, Stage] = {}
        for d in self.datasets:
            out = self.w / d.name / "bm25-index"
            self.index_stage[d.name] = reg.add(f"bm25-index.{d.name}", {"corpus": self.fingerprint[d.name]}, [out],
                                               self._bm25_index(d, out))
        neg = reg.add("bm25-negatives", {"depth": bm25["negative_depth"], "k1": bm25["k1"], "b": bm25["b"]},
                      [self.negatives], self._negatives(), [self.index_stage[main.name]])
        self.bm25_runs: Dict[str, Stage] = {}
        for d, split, hits in [(main, "train", bm25["train_hits"])] + [(d, "test", bm25["hits"]) for d in self.datasets]:
            out = self.run_path("bm25", d.name, split)
            self.bm25_runs[f"{d.name}.{split}"] = reg.add(f"bm25-run.{d.name}.{split}", {"hits": hits, "k1": bm25["k1"], "b": bm25["b"]},
                                                          [out], self._bm25_run(d, split, hits, out), [self.index_stage[d.name]])
        common = {"holdout_fraction": s["holdout_fraction"], "train_queries_limit": s["train_queries_limit"]}
        common["base_model"] = s["base_model"]
        li_model = {k: s["teacher"][k] for k in LI_MODEL_KEYS}
        self.dev_slice = reg.add("dev-slice", {**common}, [self.dev_qrels, self.dev_unseen_qrels, self.selection_qrels],
                                 self._dev_slice())
        self.selection_deps = [self.dev_slice, self.bm25_runs[f"{main.name}.train"]]
        warm_key = {**(s["warm_start"] or {}), **common, "encoder": s["encoder"], "seed": self.seed0}
        teachers: Dict[str, Stage] = {}
        warm: Optional[Stage] = None  # none with warm_start: null (students start from the base model)
        if s["warm_start"] is None and self.teacher_is_warm_start:
            from ..errors import ConfigError

            raise ConfigError("teacher.from_warm_start needs a warm_start")
        if self.teacher_is_warm_start:
            # the paper's accounting: the teacher is the checkpoint every student starts from
            warm_key["late_interaction"] = {**li_model, "li_weight": s["teacher"].get("li_weight", 1.0)}
            warm = reg.add("warm-start", warm_key, [self.model_dir("student-hard-warm")],
                           self._train("joint", s["base_model"], self.model_dir("student-hard-warm"), s["warm_start"], self.seed0,
                                       li=warm_key["late_interaction"]), [neg, self.dev_slice] + self._selection_deps(s["warm_start"]))
            teachers["late-interaction"] = warm
        else:
            if s["warm_start"] is not None:
                warm = reg.add("warm-start", warm_key, [self.model_dir("student-hard-warm")],
                               self._train("dense", s["base_model"], self.model_dir("student-hard-warm"), s["warm_start"], self.seed0),
                               [neg] + self._selection_deps(s["warm_start"]))
            own = {k: v for k, v in s["teacher"].items() if k not in JOINT_KEYS}
            teachers["late-interaction"] = reg.add("teacher-late-interaction", {**own, **common, "seed": self.seed0},
                                                   [self.model_dir("teacher-li")],
                                                   self._train("late-interaction", s["base_model"], self.model_dir("teacher-li"),
                                                               {k: v for k, v in own.items() if k not in LI_MODEL_KEYS}, self.seed0,
                                                               li=li_model), [neg] + self._selection_deps(own))
        if "cross-encoder" in self.labelers:
            ce = {k: v for k, v in s["cross_encoder"].items() if k not in CE_MODEL_KEYS}
            teachers["cross-encoder"] = reg.add("teacher-cross-encoder", {**s["cross_encoder"], **common, "seed": self.seed0},
                                                [self.model_dir("teacher-ce")],
                                                self._train("cross-encoder", s["base_model"], self.model_dir("teacher-ce"), ce, self.seed0,
                                                            ce_model={k: v for k, v in s["cross_encoder"].items()
                                                                      if k in CE_MODEL_KEYS}),
                                                [neg] + self._selection_deps(ce))
        self.label_stages: Dict[str, Stage] = {}
        own = {k: v for k, v in s["labels"].items() if k != "labelers"}  # the list of labelers is not this one's setting
        pool_stage = None
        if self.pooled:
            # the pool: positives, BM25's top and the plain teacher's top non-positives (the teacher labeler's own choice)
            pool_stage = reg.add("labels.pool", {**own, **common, "labeler": "teacher", "seed": self.seed0}, [self.pool_path],
                                 self._label("teacher", self.li_teacher_dir, self.pool_path, pool=None),
                                 [neg, teachers["late-interaction"]])
        for labeler in self.label_names():
            deps = [neg] + ([pool_stage] if pool_stage else [])
            teacher_dir = None
            if labeler in ("collective", "teacher"):
                deps.append(teachers["late-interaction"])
                teacher_dir = self.li_teacher_dir
            elif labeler == "cross-encoder":
                deps += [teachers["cross-encoder"], self.bm25_runs[f"{main.name}.train"]]
                teacher_dir = self.model_dir("teacher-ce")
            out = self.labels_path(labeler)
            self.label_stages[labeler] = reg.add(f"labels.{labeler}", {**own, **common, "labeler": labeler, "seed": self.seed0},
                                                 [out], self._label(labeler, teacher_dir, out,
                                                                    pool=self.pool_path if self.pooled else None), deps)
        self.temperature_stages: Dict[str, Stage] = {}
        if s["students"].get("temperature") == "dev":
            for labeler in self.labelers:
                if STUDENT_LOSS.get(labeler) == "kd":
                    grid = s["students"].get("temperature_grid")
                    self.temperature_stages[labeler] = reg.add(
                        f"temperature.{labeler}", {"grid": grid, "epsilon": s["students"].get("epsilon", 0.1), **common},
                        [self.temperature_path(labeler)], self._temperature(labeler), [self.label_stages[labeler], self.dev_slice])
        self.student_stages: Dict[str, Stage] = {}
        for system in ["hard"] + [l for l in self.labelers if l in STUDENT_LOSS and l != "hard"]:
            for seed in s["seeds"]:
                name = self.student_name(system, seed)
                deps = [d for d in (warm, neg) if d is not None] + self._selection_deps(s["students"])
                if STUDENT_LOSS[system] == "kd" or self.pooled:
                    deps.append(self.label_stages[system])
                if system in self.temperature_stages:
                    deps.append(self.temperature_stages[system])
                # one hold-out (and query subset) per experiment, drawn with the first seed; students of the
                # first seed always had it, so only the others' keys change
                held = {} if seed == self.seed0 else {"holdout_seed": self.seed0}
                self.student_stages[name] = reg.add(f"student.{name}", {**s["students"], **common, "system": system, "seed": seed, **held},
                                                    [self.model_dir(name)], self._student(system, seed, name), deps)
        self.run_stages: Dict[str, Stage] = {}
        for system in self.systems():
            model = s["base_model"] if system == "zeroshot" else self.model_dir(system)
            deps = [] if system == "zeroshot" else [self.student_stages[system]]
            for d in self.datasets:
                out = self.run_path(system, d.name)
                self.run_stages[f"{system}.{d.name}"] = reg.add(
                    f"run.{system}.{d.name}", {"encoder": s["encoder"], "hits": bm25["hits"], "corpus": self.fingerprint[d.name]},
                    [out], self._dense_run(model, d, d.split_queries("test"), out, self.w / "dense" / d.name / system), deps)
        if "collective" in self.labelers:
            student = self.student_name("collective", self.seed0)
            dev_run = self.run_path(student, main.name, "dev")
            dev = reg.add("dev-run.collective", {"encoder": s["encoder"], "hits": bm25["train_hits"], **common},
                          [dev_run], self._dev_run(student, dev_run), [self.student_stages[student]])
            self.hybrid = reg.add("hybrid-collective", {**s["fusion"], "hits": bm25["hits"]},
                                  [self.run_path("hybrid-collective", d.name) for d in self.datasets],
                                  self._hybrid(student), [dev, self.dev_slice, self.bm25_runs[f"{main.name}.train"]]
                                  + [self.bm25_runs[f"{d.name}.test"] for d in self.datasets]
                                  + [self.run_stages[f"{student}.{d.name}"] for d in self.datasets])

    def label_names(self) -> List[str]:
        """The labels files to make: the profile's labelers, and with a pool the hard labels too (the hard
        student then reads its candidates from the pool like everyone else)."""
        names = list(self.labelers)
        if self.pooled and "hard" not in names:
            names.append("hard")
        return names

    @staticmethod
    def _selects(settings: Optional[dict]) -> bool:
        """Whether a model's training settings ask for model selection."""
        return bool(settings and settings.get("select_every"))

    def _selection_deps(self, settings: Optional[dict]) -> List[Stage]:
        return list(self.selection_deps) if self._selects(settings) else []

    def train_job(self, seed: int, model: str, init: Path, output: Path, settings: dict,
                  labels: Optional[Path] = None) -> "TrainJob":
        """The train job of one of the experiment's models: the experiment's data and hold-out (one hold-out
        seed for every model), ``settings`` (a profile section; ``None`` = the trainer's default) for the
        trainer, and model selection on the unseen dev slice, re-ranking BM25's top ``selection_depth``, when
        they ask for it (see the module doc). Trains on ``labels`` when given, else on the BM25 negatives."""
        from ..training.job import TrainJob

        select = self._selects(settings)
        config = {k: v for k, v in settings.items() if v is not None}
        config.update(init=str(init), output=output, seed=seed, device=self.config.device, checkpoint_every=100000)
        return TrainJob.create(
            config_values=config, dataset=str(self.main.path), model=model, labels=labels,
            negatives=None if labels is not None else self.negatives,
            holdout_fraction=self.s["holdout_fraction"], holdout_seed=self.seed0,
            max_queries=self.s["train_queries_limit"] or None,
            select_qrels=self.selection_qrels if select else None,
            select_run=self.run_path("bm25", self.main.name, "train") if select else None,
            select_depth=self.s.get("selection_depth", 30))

    # ---- stage bodies -----------------------------------------------------------------------------
    def _dev_slice(self):
        def run():
            from ..atomic import atomic_output
            from ..data.qrels import beir_qrels_text
            from ..retrieval.fusion_tuning import unseen_slice
            from ..training.holdout import is_held_out

            train = self.main.qrels("train")
            dev = {q: docs for q, docs in train.items() if is_held_out(q, self.s["holdout_fraction"], self.seed0)}
            unseen = unseen_slice(dev, train)
            selection, on = self.unseen_or_dev(dev, "model selection judges")
            for path, qrels in ((self.dev_qrels, dev), (self.dev_unseen_qrels, unseen), (self.selection_qrels, selection)):
                with atomic_output(path) as tmp:
                    tmp.write_text(beir_qrels_text(qrels))
            return {"dev_queries": len(dev), "dev_unseen_queries": len(unseen), "selection_on": on}
        return run

    def _temperature(self, labeler: str):
        def run():
            from ..atomic import atomic_output
            from ..data.qrels import read_qrels
            from ..labeling.labels import read_labels
            from ..labeling.temperature import DEFAULT_GRID, choose_temperature

            dev = set(read_qrels(self.dev_qrels))
            rows = read_labels(self.labels_path(labeler))
            st = self.s["students"]
            choice = choose_temperature([r for r in rows if r["qid"] not in dev], [r for r in rows if r["qid"] in dev],
                                        st.get("epsilon", 0.1), st.get("temperature_grid") or DEFAULT_GRID)
            with atomic_output(self.temperature_path(labeler)) as tmp:
                tmp.write_text(json.dumps(choice, indent=1))
            return {"temperature": choice["temperature"], "epsilon_matched": choice["epsilon_matched_temperature"]}
        return run

    def student_temperature(self, system: str) -> float:
        """The kd temperature a student trains at: the dev choice (``"dev"``, for a teacher labeler), the
        profile's number, or the trainer's default."""
        from ..training.config import TrainConfig

        t = self.s["students"].get("temperature", TrainConfig.temperature)
        if t == "dev":
            if system not in self.temperature_stages:  # hard and uniform: no teacher scores to soften
                return TrainConfig.temperature
            return float(json.loads(self.temperature_path(system).read_text())["temperature"])
        return float(t)

    def _bm25_index(self, d: Dataset, out: Path):
        def run():
            from ..lucene.index import IndexConfig, build_bm25_index

            return {"documents": build_bm25_index(d.iter_corpus(), IndexConfig(index=out), total=len(d.corpus))}
        return run

    def _negatives(self):
        def run():
            from ..lucene.negatives import mine_negatives, write_negatives
            from ..lucene.search import BM25Config, bm25_search

            b = self.s["bm25"]
            run_ = bm25_search(self.w / self.main.name / "bm25-index", self.main.split_queries("train"),
                               BM25Config(hits=b["negative_depth"], k1=b["k1"], b=b["b"]))
            entries = mine_negatives(run_, self.main.qrels("train"), b["negative_depth"])
            write_negatives(entries, self.negatives)
            return {"queries": len(entries)}
        return run

    def _bm25_run(self, d: Dataset, split: str, hits: int, out: Path):
        def run():
            from ..lucene.search import BM25Config, bm25_search

            b = self.s["bm25"]
            write_run(bm25_search(self.w / d.name / "bm25-index", d.split_queries(split), BM25Config(hits=hits, k1=b["k1"], b=b["b"])),
                      out, tag="bm25")
        return run

    def _train(self, kind: str, init: str, out: Path, settings: dict, seed: int, li: Optional[dict] = None,
               ce_model: Optional[dict] = None):
        def run():
            from ..training.job import run_train

            # the starting folder of each model kind: the base model sized to the profile, or a new teacher on it
            starts = {"dense": self.sized_base, "late-interaction": lambda: self._li_init(li),
                      "joint": lambda: self._joint_init(li), "cross-encoder": lambda: self._ce_init(ce_model)}
            init_dir = starts[kind]() if kind in starts else init
            run_train(self.train_job(seed, kind, init_dir, out, settings))
            return json.loads((out / "train_config.json").read_text())
        return run

    def sized_base(self) -> Path:
        """The base model with the profile's lengths, the warm start's starting point."""
        from ..dense.encoder import DenseEncoder

        path = self.model_dir("base-sized")
        e = self.s["encoder"]
        DenseEncoder.load(self.s["base_model"], passage_max_length=e["passage_max_length"],
                          query_max_length=e["query_max_length"]).save(path)
        return path

    def _li_init(self, li: dict) -> Path:
        import torch

        from ..teacher.late_interaction import LateInteractionEncoder

        path = self.model_dir("teacher-li-init")
        torch.manual_seed(self.seed0)
        LateInteractionEncoder.build(self.s["base_model"], dim=li["dim"], query_maxlen=li["query_maxlen"], doc_maxlen=li["doc_maxlen"],
                                     similarity=li["similarity"]).save(path)
        return path

    def _joint_init(self, li: dict) -> Path:
        import torch

        from ..teacher.joint import JointConfig, JointEncoder

        base = self.sized_base()
        path = self.model_dir("student-hard-warm-init")
        torch.manual_seed(self.seed0)
        JointEncoder.build(base, JointConfig(li_weight=li["li_weight"]), **{k: li[k] for k in LI_MODEL_KEYS}).save(path)
        return path

    def _ce_init(self, model: dict) -> Path:
        import torch

        from ..teacher.cross_encoder import CrossEncoder

        path = self.model_dir("teacher-ce-init")
        torch.manual_seed(self.seed0)
        CrossEncoder.build(self.s["base_model"], **model).save(path)
        return path

    def label_job(self, labeler: str, teacher_dir: Optional[Path], out: Path, pool: Optional[Path] = None) -> "LabelJob":
        """The label job of one labels file: the profile's ``labels`` settings (PRF's included), the
        experiment's hold-out, the teacher and its ranking (``W/runs/labeler-NAME``), one token index of the
        late-interaction teacher for every labeler that uses it, BM25's run for the cross-encoder."""
        from ..jobs import from_mapping
        from ..labeling.job import LabelJob
        from ..labeling.labelers import LabelSettings

        settings = from_mapping(LabelSettings, label_values(self.s["labels"]))
        teacher_kind = LABELERS[labeler].teacher  # the labelers of one teacher kind share its token index
        name = "pool" if out == self.pool_path else labeler
        ranked = self.s["labels"].get("ranked")  # unset: LabelJob's own default
        return LabelJob(**({"ranked": ranked} if ranked else {}),
            dataset=str(self.main.path), labeler=labeler, negatives=self.negatives, output=out, device=self.config.device,
            warm_start=self.warm_dir, pool=pool, settings=settings, holdout_fraction=self.s["holdout_fraction"],
            seed=self.seed0, max_queries=self.s["train_queries_limit"] or None, teacher=teacher_dir,
            run=self.run_path(f"labeler-{name}", self.main.name, "train") if teacher_dir is not None else None,
            index=self.w / "labels" / "late-interaction.token-index" if teacher_kind == LI_TEACHER else None,
            bm25_run=self.run_path("bm25", self.main.name, "train") if teacher_kind == CE_TEACHER else None)

    def _label(self, labeler: str, teacher_dir: Optional[Path], out: Path, pool: Optional[Path] = None):
        def run():
            from ..labeling.job import run_label
            from ..labeling.labels import meta_path

            run_label(self.label_job(labeler, teacher_dir, out, pool))
            return json.loads(meta_path(out).read_text())
        return run

    def _student(self, system: str, seed: int, name: str):
        def run():
            from ..training.job import run_train

            init = self.warm_dir if self.warm_dir is not None else self.sized_base()
            students = {k: v for k, v in self.s["students"].items() if k != "temperature_grid"}
            students.update(loss=STUDENT_LOSS[system], temperature=self.student_temperature(system))
            # kd students read their labels file; with a pool, hard and uniform students read theirs too
            labels = self.labels_path(system) if STUDENT_LOSS[system] == "kd" or self.pooled else None
            run_train(self.train_job(seed, "dense", init, self.model_dir(name), students, labels=labels))
            return json.loads((self.model_dir(name) / "train_config.json").read_text())
        return run

    def _dense_run(self, model, d: Dataset, queries, out: Path, index_dir: Path):
        def run():
            write_run(self.dense_search(model, d, queries, index_dir, self.s["bm25"]["hits"]), out, tag=out.name.split(".")[0])
        return run

    def dense_search(self, model, d: Dataset, queries, index_dir: Path, hits: int) -> Run:
        """Encode the corpus (once per index folder), then search with the first backend that runs here
        (:func:`pyserini_ckd.dense.search.open_backend`: Pyserini's FaissSearcher, else exact torch search)."""
        from ..dense.corpus_encoding import EncodeConfig, encode_corpus
        from ..dense.encoder import model_fingerprint
        from ..dense.models import resolve_model

        e = self.s["encoder"]
        meta = index_dir / "pyserini_ckd.json"
        current = model_fingerprint(resolve_model(model))
        fresh = meta.is_file() and json.loads(meta.read_text()).get("model_fingerprint") == current
        if not fresh and not self._reuse_index(index_dir, current, d.corpus_path, model):
            encode_corpus(EncodeConfig(corpus=d.corpus_path, embeddings=index_dir, encoder=str(model), batch_size=e["batch_size"],
                                       max_length=e["passage_max_length"], device=self.config.device))
        from ..dense.search import DenseSearchConfig, open_backend

        return open_backend(index_dir, str(model), DenseSearchConfig(hits=hits, device=self.config.device)).search(queries)

    @staticmethod
    def _reuse_index(index_dir: Path, fingerprint: str, corpus: Path, model) -> bool:
        """Copy a sibling index of the same corpus made by a model with the same weights and settings (a student
        whose model selection kept its starting point, say), instead of encoding the corpus again; True if copied."""
        import shutil

        from ..atomic import atomic_output

        if not index_dir.parent.is_dir():
            return False
        for other in sorted(index_dir.parent.iterdir()):
            meta = other / "pyserini_ckd.json"
            if other == index_dir or not meta.is_file():
                continue
            m = json.loads(meta.read_text())
            if m.get("model_fingerprint") == fingerprint and m.get("corpus") == str(corpus) and (other / "docid").is_file():
                shutil.rmtree(index_dir, ignore_errors=True)
                with atomic_output(index_dir, directory=True) as tmp:
                    for f in other.iterdir():
                        if f.is_file():
                            shutil.copy2(f, tmp / f.name)
                    (tmp / "pyserini_ckd.json").write_text(json.dumps({**m, "model": str(model)}, indent=2))  # names its own model
                logger.info("%s: the same model as %s, index copied", index_dir, other)
                return True
        return False

    def dev_queries(self):
        from ..training.holdout import is_held_out

        queries = self.main.split_queries("train")
        return {q: v for q, v in queries.items() if is_held_out(q, self.s["holdout_fraction"], self.seed0)}

    def _dev_run(self, student: str, out: Path):
        def run():
            write_run(self.dense_search(self.model_dir(student), self.main, self.dev_queries(),
                                        self.w / "dense" / self.main.name / student, self.s["bm25"]["train_hits"]), out, tag=student)
        return run

    def _hybrid(self, student: str):
        return lambda: self.fuse_hybrid(student)

    def fuse_hybrid(self, student: str) -> dict:
        """BM25 + ``student`` with the fusion weight tuned on the dev slice (its unseen part with ``tune_on``
        "dev-unseen"), written for every dataset as ``hybrid-collective``; returns the stage's info."""
        from ..retrieval.fusion import FusionConfig, fuse
        from ..retrieval.fusion_tuning import tune_fusion

        f = self.s["fusion"]
        base = FusionConfig(method=f["method"], normalization=f.get("normalization", False), hits=self.s["bm25"]["hits"],
                            **{k: f[k] for k in ("alpha", "rrf_k") if k in f})
        dev = self.read_dev_qrels()
        if dev:
            tuning, tuned_on = self.fusion_tuning_qrels(dev)
            bm25_train = read_run(self.run_path("bm25", self.main.name, "train"))
            dense_dev = {q: hits for q, hits in read_run(self.run_path(student, self.main.name, "dev")).items() if q in tuning}
            tuned, table = tune_fusion(dense_dev, {q: bm25_train[q] for q in dense_dev if q in bm25_train}, tuning, base,
                                       significance=f.get("significance"))
        else:  # a collection too small for a dev slice: the profile's weight, untuned
            logger.warning("the dev slice is empty: fusion keeps the profile's settings")
            tuning, tuned_on, tuned, table = {}, "none (empty dev slice)", base, []
        for d in self.datasets:
            fused = fuse(read_run(self.run_path(student, d.name)), read_run(self.run_path("bm25", d.name)), tuned)
            write_run(fused, self.run_path("hybrid-collective", d.name), tag="hybrid-collective")
        return {"fusion": tuned.__dict__, "tuning": table, "tuned_on": tuned_on, "tuning_queries": len(tuning)}

    def read_dev_qrels(self) -> dict:
        """The dev slice's judgments ({} when the slice is empty, as on a tiny collection)."""
        from ..data.qrels import read_qrels

        lines = self.dev_qrels.read_text().splitlines() if self.dev_qrels.is_file() else []
        return read_qrels(self.dev_qrels) if len(lines) > 1 else {}

    def fusion_tuning_qrels(self, dev: dict):
        """The dev queries the fusion weight is tuned on: with ``tune_on`` "dev-unseen" :meth:`unseen_or_dev`;
        with "dev" the whole dev slice."""
        if self.s["fusion"].get("tune_on", "dev") == "dev-unseen":
            return self.unseen_or_dev(dev, "tuning fusion")
        return dev, "dev"

    def unseen_or_dev(self, dev: dict, purpose: str):
        """(queries, name): the dev queries whose relevant documents no training query shares
        (:func:`pyserini_ckd.retrieval.fusion_tuning.unseen_slice`), if there are at least ``fusion.min_tuning_queries`` of them,
        else the whole dev slice. Fusion tuning and model selection both judge on it."""
        from ..retrieval.fusion_tuning import unseen_slice

        least = self.s["fusion"].get("min_tuning_queries", 1)
        unseen = unseen_slice(dev, self.main.qrels("train"))
        if len(unseen) >= least:
            return unseen, "dev-unseen"
        logger.warning("only %d dev queries with unseen relevant documents (< %d): %s on all %d dev queries",
                       len(unseen), least, purpose, len(dev))
        return dev, "dev"

    # ---- running ----------------------------------------------------------------------------------
    def targets(self) -> List[Stage]:
        order = [self.reg.stages[n] for n in self.reg.stages if n.startswith("run.") or n.startswith("labels.")]
        if "collective" in self.labelers:
            order.append(self.hybrid)
        return order

    def plan(self) -> List[Stage]:
        """The stages a run would run now (the others are done with the current settings)."""
        order: List[Stage] = []
        for stage in self.targets():
            stage.plan(order)
        return order

    def run_all(self) -> None:
        for stage in self.targets():
            stage.ensure()
