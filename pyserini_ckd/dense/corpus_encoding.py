"""Encode a corpus into a dense index, streaming: the corpus is never held in memory whole.

Documents are read in chunks of ``chunk_size``; each chunk is encoded with length-sorted, token-budget
batches and appended to the Faiss index in file order. ``shard_id``/``shard_num`` take the same
contiguous slice Pyserini's encoder takes, so merged shards equal the unsharded index.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from tqdm import tqdm

from ..atomic import prepare_parent
from ..data.corpus import iter_corpus
from ..data.records import Document
from ..errors import ConfigError, require_positive
from ..jobs import positive_int, setting
from .faiss_index import FlatIndexWriter, IndexMeta
from .encoder import DenseEncoder, model_fingerprint, precision_name

logger = logging.getLogger(__name__)

FIELDS = ("title", "text")


@dataclass
class EncodeConfig:
    """Settings of ``python -m pyserini_ckd.encode`` (input, output and encoder sections)."""

    corpus: Path = setting(type=Path, group="input", help="dataset folder or name, or a corpus JSONL (BEIR or Pyserini)")
    embeddings: Path = setting(type=Path, group="output", help="output folder (index, docid, pyserini_ckd.json)")
    encoder: str = setting("minilm", group="encoder", help="model directory or 'minilm'")
    fields: Sequence[str] = setting(default_factory=lambda: list(FIELDS), type=str, nargs="+", group="input",
                                    help="which document fields form the passage text")
    shard_id: int = setting(0, type=int, group="input")
    shard_num: int = setting(1, type=positive_int, group="input")
    batch_size: int = setting(32, type=positive_int, group="encoder")
    max_length: Optional[int] = setting(None, type=positive_int, group="encoder", help="passage length (default: the model's)")
    device: str = setting("cpu", group="encoder")
    precision: str = setting("auto", cli=False)  # auto: bf16 on CUDA, fp32 on the CPU; the CLI's --fp16/--bf16/--fp32
    chunk_size: int = setting(2048, type=positive_int, group="input", help="documents read, encoded and added to the index at a time")

    def __post_init__(self) -> None:
        self.corpus, self.embeddings = Path(self.corpus), Path(self.embeddings)
        require_positive(self, "batch_size", "shard_num", "chunk_size")
        if self.max_length is not None and self.max_length <= 0:
            raise ConfigError(f"max-length must be positive, got {self.max_length}")
        if not 0 <= self.shard_id < self.shard_num:
            raise ConfigError(f"shard-id must be in 0..{self.shard_num - 1}, got {self.shard_id}")
        bad = [f for f in self.fields if f not in FIELDS]
        if bad or not self.fields:
            raise ConfigError(f"fields must be among {', '.join(FIELDS)}, got {', '.join(self.fields) or 'none'}")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ConfigError(f"precision must be auto, fp32, bf16 or fp16, got {self.precision!r}")


def passage_text(doc: Document, fields: Sequence[str]) -> str:
    parts = [getattr(doc, f) for f in fields if getattr(doc, f)]
    return " ".join(parts)


def _scan(path: Path) -> Tuple[int, str]:
    """Number of non-blank lines and SHA-256 (16 hex digits) of the file's bytes."""
    digest, count = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for line in handle:
            digest.update(line)
            count += bool(line.strip())
    return count, digest.hexdigest()[:16]


def encode_corpus(config: EncodeConfig, model: Optional[DenseEncoder] = None) -> IndexMeta:
    """Encode ``config.corpus`` into ``config.embeddings``; returns the index metadata."""
    prepare_parent(config.embeddings)  # fail before encoding if the index cannot be written
    model = model or DenseEncoder.load(config.encoder, device=config.device)
    total, fingerprint = _scan(config.corpus)
    size = total // config.shard_num
    start = config.shard_id * size
    end = total if config.shard_id == config.shard_num - 1 else start + size
    writer = FlatIndexWriter(model.dimension)
    chunk: List[Document] = []
    precision = precision_name(config.precision, model.device, "passage")
    if config.precision == "auto" and precision != "fp32":
        logger.info("passages are encoded in %s autocast (--precision auto on this %s); --fp32 reproduces the "
                    "published fp32 figures (zero-shot MiniLM: fp32 and bf16 differ by about 0.001 nDCG@10)",
                    precision, model.device.type.upper())
    else:
        logger.info("passages are encoded in %s", precision)

    def flush(bar: tqdm) -> None:
        vectors = model.encode([passage_text(d, config.fields) for d in chunk], kind="passage",
                               batch_size=config.batch_size, max_length=config.max_length,
                               precision=config.precision, progress=bar)
        writer.add([d.docid for d in chunk], vectors)
        chunk.clear()

    with tqdm(total=end - start, unit="passage", desc="encode", smoothing=0.1) as bar:
        for i, doc in enumerate(iter_corpus(config.corpus)):
            if i < start:
                continue
            if i >= end:
                break
            chunk.append(doc)
            if len(chunk) >= config.chunk_size:
                flush(bar)
        if chunk:
            flush(bar)
    meta = IndexMeta(model=model.source, model_fingerprint=model_fingerprint(model.source),
                     pooling=model.config.pooling, normalize=model.config.normalize, dimension=model.dimension,
                     passages=len(writer.docids), corpus=str(config.corpus), corpus_fingerprint=fingerprint,
                     shard_id=config.shard_id, shard_num=config.shard_num, precision=precision)
    writer.write(config.embeddings, meta)
    logger.info("encoded %d passages into %s", meta.passages, config.embeddings)
    return meta
