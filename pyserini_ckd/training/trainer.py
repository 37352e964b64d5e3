"""The training loop: one CPU, one GPU, or several through ``torchrun``.

Each step takes ``batch_size`` queries (over all processes) in the order of :mod:`.data`, split into
``grad_accumulation`` micro-batches. A micro-batch's queries and passages are encoded in one forward
pass (so DistributedDataParallel sees one forward per backward); with several processes each encodes
its slice and the embeddings are gathered, so every query sees every passage of the micro-batch as an
in-batch negative. The loss is computed on the gathered matrices with the local slices still carrying
gradients and multiplied by the world size, so that DDP's gradient average equals the gradient of the
single-process loss. Student scores are s = q . p / student_temperature.

Checkpoints (weights, optimizer, scheduler, RNG, step) go to ``OUTPUT.checkpoints/step-N`` every
``checkpoint_every`` steps and at the end; ``resume=True`` continues from the newest one and ends where
the uninterrupted run would have. The final model is written to ``OUTPUT`` (atomically) with
``train_log.jsonl``, ``loss.png`` and ``train_config.json``.

With a :class:`~.selection.SelectionSet` and ``select_every`` N, the held-out queries are scored before the
first step and every N steps (and after the last); the weights of the best step are what ``OUTPUT`` gets, and
``train_config.json`` records every score and the chosen step (:mod:`.selection`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Dict, List, Mapping, Optional

import torch
import torch.distributed as dist
from tqdm import tqdm

from ..atomic import atomic_output, prepare_parent
from ..dense.encoder import DenseEncoder
from ..errors import ConfigError
from .config import TrainConfig
from .data import Batch, TrainingQuery, build_batch, epoch_order, sample_group
from .log import plot_loss, read_log, truncate_log
from .losses import TARGETS, soft_cross_entropy
from .selection import MEASURE, SelectionSet

logger = logging.getLogger(__name__)

STATE_NAME = "trainer_state.pt"


def batch_targets(batch: Batch, config: TrainConfig) -> torch.Tensor:
    """The (Q, P) target distribution of the configured loss (:data:`~pyserini_ckd.training.losses.TARGETS`)."""
    return TARGETS[config.loss](batch, config)


class Trainer:
    def __init__(self, config: TrainConfig, queries: List[TrainingQuery], passages: Mapping[str, str],
                 model: Optional[DenseEncoder] = None, selection: Optional[SelectionSet] = None) -> None:
        if not queries:
            raise ConfigError("no training queries")
        if (selection is None) != (config.select_every is None):
            raise ConfigError("model selection needs both held-out queries (--select-qrels) and --select-every")
        prepare_parent(config.output)  # fail before any work if the output cannot be written
        self.config = config
        self.queries = queries
        self.passages = passages
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        use_cuda = torch.cuda.is_available() and config.device in ("auto", "cuda")
        self.device = torch.device(f"cuda:{local_rank}" if use_cuda else (config.device if config.device not in ("auto", "cuda") else "cpu"))
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if self.device.type == "cuda" else "gloo")
        micro = config.batch_size // config.grad_accumulation
        if micro % self.world:
            raise ConfigError(f"batch-size / grad-accumulation ({micro}) must be a multiple of the number of processes ({self.world})")
        torch.manual_seed(config.seed)
        self.model = (model or DenseEncoder.load(config.init)).to(self.device).train()
        self.saved_encoder_config = None
        if config.max_length:
            if not isinstance(self.model, DenseEncoder):
                raise ConfigError("max-length applies to the dense student (teachers have their own lengths)")
            import dataclasses

            c = self.model.config
            self.saved_encoder_config = c
            self.model.config = dataclasses.replace(c, passage_max_length=min(c.passage_max_length, config.max_length),
                                                    query_max_length=min(c.query_max_length, config.max_length))
        self.selection = selection
        if selection is not None and self.world > 1:
            raise ConfigError("model selection runs in one process (no torchrun)")
        self.history: Dict[int, float] = {}  # step -> held-out score
        self.best: Optional[tuple] = None  # (step, score, state on the CPU)
        for name, param in self.model.backbone.named_parameters():
            if name.startswith("pooler."):  # BERT's pooler is not part of the embedding: keep it out of DDP
                param.requires_grad_(False)
        if config.gradient_checkpointing:
            self.model.backbone.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.engine = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        else:
            self.engine = self.model
        decay = [p for n, p in self.model.named_parameters() if p.requires_grad and not any(k in n for k in ("bias", "LayerNorm", "layer_norm"))]
        no_decay = [p for n, p in self.model.named_parameters() if p.requires_grad and any(k in n for k in ("bias", "LayerNorm", "layer_norm"))]
        self.optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                            {"params": no_decay, "weight_decay": 0.0}], lr=config.learning_rate)
        self.steps_per_epoch = math.ceil(len(queries) / config.batch_size)
        self.total_steps = config.steps or max(1, math.ceil(config.epochs * self.steps_per_epoch))
        warmup = int(config.warmup_ratio * self.total_steps)

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            return max(0.0, (self.total_steps - step) / max(1, self.total_steps - warmup))

        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule)
        self.checkpoints = config.output.with_name(config.output.name + ".checkpoints")
        self.log_path = self.checkpoints / "train_log.jsonl"
        self._orders: Dict[int, List[int]] = {}
        self.elapsed = 0.0  # seconds of training, summed over resumes

    # ---- checkpoints ----------------------------------------------------------------------------
    def _checkpoint_dirs(self) -> List[Path]:
        if not self.checkpoints.is_dir():
            return []
        dirs = [d for d in self.checkpoints.glob("step-*") if (d / STATE_NAME).is_file()]
        return sorted(dirs, key=lambda d: int(d.name.split("-")[1]))

    def _save_checkpoint(self, step: int) -> None:
        if self.rank == 0:
            state = {"step": step, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                     "scheduler": self.scheduler.state_dict(), "rng_cpu": torch.get_rng_state(),
                     "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                     "config": self.config.to_json(), "elapsed": self.elapsed,
                     "selection": {"history": self.history, "best": self.best}}
            with atomic_output(self.checkpoints / f"step-{step}", directory=True) as tmp:
                torch.save(state, tmp / STATE_NAME)
            for old in self._checkpoint_dirs()[:-self.config.keep_checkpoints]:
                shutil.rmtree(old, ignore_errors=True)
            plot_loss(self.log_path, self.checkpoints / "loss.png")
        if self.world > 1:
            dist.barrier()

    def _restore(self) -> int:
        dirs = self._checkpoint_dirs()
        if not dirs:
            logger.warning("--resume: no checkpoint in %s, starting from the beginning", self.checkpoints)
            return 0
        state = torch.load(dirs[-1] / STATE_NAME, map_location="cpu", weights_only=False)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng_cpu"])
        self.elapsed = float(state.get("elapsed", 0.0))
        selection = state.get("selection") or {}
        self.history, self.best = dict(selection.get("history", {})), selection.get("best")
        if state.get("rng_cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        if self.rank == 0:
            truncate_log(self.log_path, state["step"])
        logger.info("resumed from %s", dirs[-1])
        return int(state["step"])

    # ---- one step -------------------------------------------------------------------------------
    def _step_queries(self, step: int) -> List[TrainingQuery]:
        epoch, pos = divmod(step, self.steps_per_epoch)
        if epoch not in self._orders:
            self._orders = {epoch: epoch_order(len(self.queries), self.config.seed, epoch)}
        order = self._orders[epoch]
        b = self.config.batch_size
        cyclic = order * (1 + b // max(1, len(order)) + 1)
        return [self.queries[i] for i in cyclic[pos * b:(pos + 1) * b]]

    def _autocast(self):
        c = self.config
        dtype = torch.bfloat16 if (c.precision == "bf16" or (c.precision == "auto" and self.device.type == "cuda")) else None
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    def _gather(self, local: tuple) -> tuple:
        """All-gather each tensor of ``local`` across processes; this process's slice keeps its gradient."""
        if self.world == 1:
            return local
        out = []
        for t in local:
            parts = [torch.empty_like(t) for _ in range(self.world)]
            dist.all_gather(parts, t.detach().contiguous())
            parts[self.rank] = t
            out.append(torch.cat(parts))
        return tuple(out)

    def _encode(self, batch: Batch) -> torch.Tensor:
        """Scores (Q, P) of the whole micro-batch; only this process's slices carry gradients.

        The model supplies ``training_forward(engine, queries, passages) -> (q_reps, p_reps)`` (tuples of
        tensors, one forward pass) and ``pairwise_scores(q_reps, p_reps) -> (Q, P)``.
        """
        q_per = batch.num_queries // self.world
        rows = range(self.rank * q_per, (self.rank + 1) * q_per)
        g = batch.group_size
        queries = [batch.queries[i].text for i in rows]
        passages = [self.passages[d] for i in rows for d in batch.docids[i * g:(i + 1) * g]]
        with self._autocast():
            q_reps, p_reps = self.model.training_forward(self.engine, queries, passages)
        scores = self.model.pairwise_scores(self._gather(q_reps), self._gather(p_reps))
        return scores / self.config.student_temperature

    def _loss(self, scores: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Soft cross-entropy of the (Q, P) scores; a model with several scoring heads gives (H, Q, P)
        scores and ``head_weights``, and the loss is sum_h w_h CE_h."""
        if scores.dim() == 2:
            return soft_cross_entropy(scores, mask, targets)
        return sum(w * soft_cross_entropy(s, mask, targets) for w, s in zip(self.model.head_weights, scores))

    def _train_step(self, step: int) -> float:
        c = self.config
        queries = self._step_queries(step)
        epoch = step // self.steps_per_epoch
        micro = c.batch_size // c.grad_accumulation
        total = 0.0
        for k in range(c.grad_accumulation):
            chunk = queries[k * micro:(k + 1) * micro]
            groups = [sample_group(q, c.group_size, c.negative_depth, c.seed, epoch) for q in chunk]
            batch = build_batch(chunk, groups)
            sync = self.world == 1 or k == c.grad_accumulation - 1
            with (nullcontext() if sync else self.engine.no_sync()):
                scores = self._encode(batch)
                targets = batch_targets(batch, c).to(scores.device)
                loss = self._loss(scores, batch.mask.to(scores.device), targets)
                (loss * self.world / c.grad_accumulation).backward()
            total += loss.item() / c.grad_accumulation
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return total

    # ---- model selection --------------------------------------------------------------------------
    @contextmanager
    def _own_lengths(self):
        """The model with its own lengths inside the block, not ``max_length``'s training cut."""
        if self.saved_encoder_config is None:
            yield
            return
        cut, self.model.config = self.model.config, self.saved_encoder_config
        try:
            yield
        finally:
            self.model.config = cut

    def _select(self, step: int) -> None:
        """Score the held-out queries at ``step``; keep a CPU copy of the weights when they are the best so far."""
        from .selection import evaluate

        with self._own_lengths():  # judge the model as it will be saved and used, not at the training cut
            value = evaluate(self.model, self.selection, self.passages)
        self.history[step] = round(value, 6)
        logger.info("step %d: held-out %s %.4f", step, MEASURE, value)
        if self.best is None or value > self.best[1]:
            self.best = (step, value, {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()})

    def _selection_due(self, step: int) -> bool:
        return self.selection is not None and (step % self.config.select_every == 0 or step == self.total_steps)

    # ---- the loop -------------------------------------------------------------------------------
    def train(self, resume: bool = False) -> Path:
        try:
            return self._train(resume)
        except BaseException:
            # a kill or an error keeps finished checkpoints for --resume; a folder with none (the first write
            # failed, say) would only be clutter beside an output that was never written
            if self.rank == 0 and self.checkpoints.is_dir() and not self._checkpoint_dirs():
                shutil.rmtree(self.checkpoints, ignore_errors=True)
            raise

    def _train(self, resume: bool) -> Path:
        start = 0
        if resume:
            start = self._restore()
        elif self.rank == 0 and self.checkpoints.exists():
            shutil.rmtree(self.checkpoints)
        if self.rank == 0:
            self.checkpoints.mkdir(parents=True, exist_ok=True)
            self.log_path.touch()
        if self.world > 1:
            dist.barrier()
        if self.selection is not None and start == 0:
            self._select(0)  # the starting model is a candidate
        bar = tqdm(total=self.total_steps, initial=start, desc=f"train {self.config.loss}", unit="step", disable=self.rank != 0)
        with open(self.log_path, "a") if self.rank == 0 else nullcontext() as log:
            for step in range(start, self.total_steps):
                t = time.perf_counter()
                loss = self._train_step(step)
                seconds = time.perf_counter() - t
                self.elapsed += seconds
                rate = self.config.batch_size / seconds
                if self.rank == 0:
                    entry = {"step": step + 1, "epoch": round((step + 1) / self.steps_per_epoch, 4), "loss": round(loss, 6),
                             "lr": self.scheduler.get_last_lr()[0], "examples_per_s": round(rate, 2)}
                    log.write(json.dumps(entry) + "\n")
                    log.flush()
                    bar.set_postfix(loss=f"{loss:.4f}", ex_s=f"{rate:.1f}")
                bar.update(1)
                if self._selection_due(step + 1):
                    self._select(step + 1)
                if (step + 1) % self.config.checkpoint_every == 0 or step + 1 == self.total_steps:
                    self._save_checkpoint(step + 1)
        bar.close()
        if self.rank == 0:
            self._write_final()
        if self.world > 1:
            dist.barrier()
        return self.config.output

    def _write_final(self) -> None:
        entries = read_log(self.log_path)
        rates = [e["examples_per_s"] for e in entries[1:]] or [e["examples_per_s"] for e in entries]
        summary = {"config": self.config.to_json(), "steps": self.total_steps, "queries": len(self.queries),
                   "device": str(self.device), "processes": self.world, "train_seconds": round(self.elapsed, 2),
                   "examples_per_s_median": sorted(rates)[len(rates) // 2] if rates else None}
        if self.selection is not None and self.best is not None:
            summary["selection"] = {"measure": MEASURE, "queries": len(self.selection), "every": self.config.select_every,
                                    "history": {str(k): v for k, v in sorted(self.history.items())},
                                    "chosen_step": self.best[0], "chosen_score": round(self.best[1], 6)}
            if self.best[0] != self.total_steps:
                self.model.load_state_dict(self.best[2])
                logger.info("keeping step %d (held-out %s %.4f)", self.best[0], MEASURE, self.best[1])

        def extra(tmp: Path) -> None:
            shutil.copy(self.log_path, tmp / "train_log.jsonl")
            plot_loss(tmp / "train_log.jsonl", tmp / "loss.png")
            (tmp / "train_config.json").write_text(json.dumps(summary, indent=1))

        self.model.eval()
        with self._own_lengths():  # the saved folder keeps the model's own lengths
            self.model.save(self.config.output, extra=extra)
        logger.info("saved the trained model to %s", self.config.output)
