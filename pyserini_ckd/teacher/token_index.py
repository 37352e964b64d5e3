"""The teacher's index: every document's kept token vectors, on disk, and document frequencies.

Files in the index folder (written atomically):

- ``tokens.f16``: (T, dim) float16 token vectors of all documents, memory-mapped;
- ``offsets.npy``: (N + 1,) int64, document i owns rows offsets[i]:offsets[i+1];
- ``token_ids.npy``: (T,) int32 vocabulary id of each stored vector (for PRF's token mapping);
- ``df.npy``: (V,) int32 number of documents containing each vocabulary id (for IDF);
- ``docids``: one id a line; ``meta.json``: teacher, dim, N, T, corpus and teacher fingerprints (reuse needs both).

Search is exact MaxSim over all documents. The documents are sorted by length and cut into blocks of
about 2^18 token slots, each block a (n, L, dim + 1) float32 tensor padded to its longest document.
The extra column folds the rest of the score into one matrix product: with q' = [2 q, -1] and
t' = [t, ||t||^2] (L2) or q' = [q, -1] and t' = [t, 0] (cosine), q' . t' = 2 q.t - ||t||^2 or q.t,
and padding slots hold 10^4 there, so they never win the max over a document's slots; L2 then
subtracts ||q||^2 per query vector: -||q - t||^2 = 2 q.t - ||q||^2 - ||t||^2. A document without
kept tokens scores 0. The token matrix is held in memory as float32, flat (for PRF's nearest tokens)
and blocked (about 0.6 GB together for SciFact's 0.6 M tokens at 128 dimensions).

For large collections, :meth:`TokenIndex.build_ann` adds ``tokens.faiss``, a Faiss IVF index over the
token vectors (inner product); ``search(..., ann_tokens=n)`` then takes each query vector's n nearest
token vectors, the documents they belong to are the candidates, and only those are scored exactly
(ColBERT's candidate generation and re-ranking). With n large enough it returns the exact ranking.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from tqdm import tqdm

from ..atomic import atomic_output
from ..data.records import Document
from ..dense.encoder import _autocast_dtype
from ..errors import InputError
from .late_interaction import LateInteractionEncoder

logger = logging.getLogger(__name__)

PAD_PENALTY = 1e4  # subtracted from a padding slot's score (see the module doc)


@dataclass
class TokenIndex:
    path: Path
    tokens: np.ndarray  # memmap (T, dim) float16
    offsets: np.ndarray
    token_ids: np.ndarray
    df: np.ndarray
    docids: List[str]
    similarity: str
    device: str = "cpu"  # where searches run (the token matrix is copied there on first use)
    _dense: Optional[torch.Tensor] = None
    _empty_docs: Optional[torch.Tensor] = None  # (N,) bool: documents without kept tokens
    _block_cache: Optional[List[Tuple[torch.Tensor, torch.Tensor]]] = None

    @property
    def num_docs(self) -> int:
        return len(self.docids)

    @classmethod
    def load(cls, path: Union[str, Path]) -> "TokenIndex":
        path = Path(path)
        if not (path / "meta.json").is_file():
            raise InputError(path, None, "not a teacher token index (no meta.json)")
        meta = json.loads((path / "meta.json").read_text())
        tokens = np.memmap(path / "tokens.f16", dtype=np.float16, mode="r", shape=(meta["tokens"], meta["dim"]))
        return cls(path, tokens, np.load(path / "offsets.npy"), np.load(path / "token_ids.npy"), np.load(path / "df.npy"),
                   (path / "docids").read_text().split("\n")[:-1], meta["similarity"])

    def idf(self, token_id: int) -> float:
        """log((1 + N) / (df + 1)), as in ColBERT-PRF."""
        return float(np.log((1 + self.num_docs) / (self.df[token_id] + 1)))

    def doc_tokens(self, i: int) -> torch.Tensor:
        return torch.from_numpy(np.asarray(self.tokens[self.offsets[i]:self.offsets[i + 1]], dtype=np.float32))

    def _all(self) -> torch.Tensor:
        """The flat (T, dim) float32 token matrix on the search device."""
        if self._dense is None:
            self._dense = torch.from_numpy(np.asarray(self.tokens, dtype=np.float32)).to(self.device)
        return self._dense

    def _blocks(self, block_slots: int = 1 << 18) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """(document indices (n,), augmented padded tokens (n, L, dim + 1)) of each block; see the module doc."""
        if self._block_cache is None:
            tokens = self._all()
            lengths = np.diff(self.offsets)
            order = np.argsort(lengths, kind="stable")
            t_sq = (tokens * tokens).sum(-1) if self.similarity == "l2" else torch.zeros(tokens.shape[0], device=tokens.device)
            blocks, start = [], 0
            while start < self.num_docs:
                end = start + 1
                while end < self.num_docs and (end - start + 1) * max(1, lengths[order[end]]) <= block_slots:
                    end += 1
                docs = order[start:end]
                width = max(1, int(lengths[docs].max()))
                rows = np.repeat(np.arange(len(docs)), lengths[docs])
                cols = np.concatenate([np.arange(n) for n in lengths[docs]]) if rows.size else np.zeros(0, dtype=np.int64)
                flat = torch.from_numpy(self.offsets[docs][rows] + cols).to(tokens.device)
                aug = torch.zeros(len(docs), width, tokens.shape[1] + 1, device=tokens.device)
                aug[..., -1] = PAD_PENALTY
                r, c = torch.from_numpy(rows).to(tokens.device), torch.from_numpy(cols).to(tokens.device)
                aug[r, c, :-1] = tokens[flat]
                aug[r, c, -1] = t_sq[flat]
                blocks.append((torch.from_numpy(docs).to(tokens.device), aug))
                start = end
            self._block_cache = blocks
            self._empty_docs = torch.from_numpy(lengths == 0).to(tokens.device)
        return self._block_cache

    def maxsim_all(self, q: torch.Tensor, weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Scores (N,) of one query (m, k) against every document, exactly."""
        blocks = self._blocks()
        device = blocks[0][1].device
        q = q.to(device)
        scale = 2.0 if self.similarity == "l2" else 1.0
        q_aug = torch.cat([scale * q, -torch.ones(q.shape[0], 1, device=device)], dim=1)
        best = torch.zeros(q.shape[0], self.num_docs, device=device)
        for docs, aug in blocks:
            n, width = aug.shape[:2]
            best[:, docs] = (q_aug @ aug.reshape(n * width, -1).T).view(-1, n, width).amax(-1)
        if self.similarity == "l2":
            best -= (q * q).sum(-1, keepdim=True)
        best[:, self._empty_docs] = 0.0
        if weights is not None:
            best = best * weights.to(device)[:, None]
        return best.sum(0).cpu()

    def maxsim_docs(self, q: torch.Tensor, doc_indices: Sequence[int], weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Scores of one query against the given documents."""
        out = torch.empty(len(doc_indices))
        for n, i in enumerate(doc_indices):
            d = self.doc_tokens(i)
            if d.shape[0] == 0:
                out[n] = 0.0
                continue
            sims = q @ d.T
            if self.similarity == "l2":
                sims = 2 * sims - (q * q).sum(-1, keepdim=True) - (d * d).sum(-1)[None, :]
            best = sims.max(-1).values
            out[n] = (best * weights).sum() if weights is not None else best.sum()
        return out

    def search(self, q: torch.Tensor, k: int, weights: Optional[torch.Tensor] = None, ann_tokens: int = 0) -> List[Tuple[int, float]]:
        """Top-k (document index, score); ties broken by document index.

        Exact over all documents, or, with ``ann_tokens > 0`` and ``tokens.faiss`` built, exact over the
        candidate documents of each query vector's ``ann_tokens`` nearest token vectors.
        """
        if ann_tokens > 0:
            candidates = self.ann_candidates(q, ann_tokens)
            scores = self.maxsim_docs(q, candidates, weights).numpy()
            order = np.lexsort((np.asarray(candidates), -scores))[:k]
            return [(int(candidates[i]), float(scores[i])) for i in order]
        scores = self.maxsim_all(q, weights)
        k = min(k, self.num_docs)
        order = np.lexsort((np.arange(self.num_docs), -scores.numpy()))[:k]
        return [(int(i), float(scores[i])) for i in order]

    def build_ann(self, nlist: Optional[int] = None, train_size: int = 262144, seed: int = 0) -> None:
        """Write ``tokens.faiss``: an IVF (inner product) index over all token vectors, nlist ~ 4 sqrt(T)."""
        import faiss

        total = self.tokens.shape[0]
        nlist = nlist or max(1, int(4 * np.sqrt(total)))
        rng = np.random.default_rng(seed)
        sample = np.asarray(self.tokens[np.sort(rng.choice(total, size=min(train_size, total), replace=False))], dtype=np.float32)
        quantizer = faiss.IndexFlatIP(self.tokens.shape[1])
        ivf = faiss.IndexIVFFlat(quantizer, self.tokens.shape[1], min(nlist, len(sample)), faiss.METRIC_INNER_PRODUCT)
        ivf.train(sample)
        for start in range(0, total, 1 << 18):
            ivf.add(np.asarray(self.tokens[start:start + (1 << 18)], dtype=np.float32))
        with atomic_output(self.path / "tokens.faiss") as tmp:
            faiss.write_index(ivf, str(tmp))
        self._ann = None

    def ann_candidates(self, q: torch.Tensor, ann_tokens: int, nprobe: int = 32) -> List[int]:
        import faiss

        if getattr(self, "_ann", None) is None:
            path = self.path / "tokens.faiss"
            if not path.is_file():
                raise InputError(self.path, None, "no tokens.faiss: build it with TokenIndex.build_ann() (or search exactly)")
            self._ann = faiss.read_index(str(path))
        self._ann.nprobe = nprobe
        _, ids = self._ann.search(np.ascontiguousarray(q.cpu().numpy(), dtype=np.float32), ann_tokens)
        docs = np.searchsorted(self.offsets, ids[ids >= 0], side="right") - 1
        return sorted(set(int(d) for d in docs))

    def nearest_tokens(self, vectors: torch.Tensor, k: int = 10) -> torch.Tensor:
        """Indices (c, k) of each vector's k nearest stored token vectors (by inner product)."""
        tokens = self._all()
        return (vectors.to(tokens.device) @ tokens.T).topk(min(k, tokens.shape[0]), dim=-1).indices.cpu()


def teacher_fingerprint(path: Union[str, Path]) -> str:
    """SHA-256 (16 hex digits) of a teacher folder's weights and model settings: equal iff the same teacher.

    Reads every ``*.safetensors``/``*.bin`` file and the settings files (``*.json`` but the training log,
    summary, card and interpolation record), in name order."""
    from ..dense.encoder import files_fingerprint

    path = Path(path)
    skip = {"train_config.json", "interpolation.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}
    return files_fingerprint(sorted(f for f in path.iterdir() if f.is_file() and (
        f.suffix in (".safetensors", ".bin") or (f.suffix == ".json" and f.name not in skip))))


def corpus_fingerprint(documents: Iterable[Document]) -> str:
    """SHA-256 (16 hex digits) of the documents' ids and texts, in order."""
    digest = hashlib.sha256()
    for d in documents:
        digest.update(f"{d.docid}\t{d.contents}\n".encode("utf-8"))
    return digest.hexdigest()[:16]


def build_token_index(teacher: LateInteractionEncoder, documents: Iterable[Document], out_dir: Union[str, Path],
                      total: Optional[int] = None, batch_size: int = 32, corpus_fingerprint: str = "",
                      teacher_fingerprint: str = "") -> TokenIndex:
    """Encode every document with the teacher and write the index atomically."""
    out_dir = Path(out_dir)
    vocab = len(teacher.tokenizer.get_vocab())
    df = np.zeros(vocab, dtype=np.int32)
    docids: List[str] = []
    offsets = [0]
    with atomic_output(out_dir, directory=True) as tmp:
        ids_parts, count = [], 0
        with open(tmp / "tokens.f16", "wb") as out, tqdm(total=total, unit="doc", desc="teacher index") as bar:
            batch: List[Document] = []

            def flush() -> None:
                nonlocal count
                dtype = _autocast_dtype("auto", teacher.device, "passage")  # bf16 on a GPU or a CPU with native bf16
                with torch.autocast(teacher.device.type, dtype=dtype, enabled=dtype is not None):
                    emb, mask, input_ids = teacher.encode_docs([d.contents for d in batch])
                for row, doc in enumerate(batch):
                    keep = mask[row]
                    vecs = emb[row][keep].cpu().numpy().astype(np.float16)
                    ids = input_ids[row][keep].cpu().numpy().astype(np.int32)
                    out.write(vecs.tobytes())
                    ids_parts.append(ids)
                    df[np.unique(ids)] += 1
                    count += len(ids)
                    offsets.append(count)
                    docids.append(doc.docid)
                bar.update(len(batch))
                batch.clear()

            for doc in documents:
                batch.append(doc)
                if len(batch) >= batch_size:
                    flush()
            if batch:
                flush()
        np.save(tmp / "offsets.npy", np.asarray(offsets, dtype=np.int64))
        np.save(tmp / "token_ids.npy", np.concatenate(ids_parts) if ids_parts else np.zeros(0, np.int32))
        np.save(tmp / "df.npy", df)
        (tmp / "docids").write_text("".join(f"{d}\n" for d in docids))
        (tmp / "meta.json").write_text(json.dumps({"teacher": teacher.source, "dim": teacher.config.dim, "docs": len(docids),
                                                   "tokens": count, "similarity": teacher.config.similarity,
                                                   "corpus_fingerprint": corpus_fingerprint,
                                                   "teacher_fingerprint": teacher_fingerprint}, indent=1))
    logger.info("teacher index: %d documents, %d token vectors", len(docids), count)
    return TokenIndex.load(out_dir)
