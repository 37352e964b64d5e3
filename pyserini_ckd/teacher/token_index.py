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
kept tokens scores 0. In memory, the labeller's searches are batched (:meth:`TokenIndex.search_many`: one scan
of the blocks for a chunk of queries, in bf16 where the CPU or GPU has it) and the scan only chooses: every
document that its error bound cannot rule out of the top k is scored exactly, so the ranking is the exact one;
PRF's nearest tokens likewise (:meth:`TokenIndex.nearest_tokens_many`). Up to ``in_memory_tokens`` (2 M) token vectors the matrix is held in memory: flat in
float16 (the stored values; for exact scoring and PRF's nearest tokens), flat and blocked in the scan's dtype,
and each token's squared norm (889 bytes a token at 128 dimensions with a bf16 scan: 0.53 GB for SciFact's 0.6 M
tokens): fast repeated searches. Beyond it the index is **streamed**: each search reads the
memory-mapped vectors block by block (documents in file order), so resident memory stays at one block
(about 2^18 x 129 float32, 135 MB) whatever the collection's size, and PRF's nearest tokens are a running
top-k over the same blocks.

Past a size the first stage is approximate (:mod:`~pyserini_ckd.teacher.centroid_index`, PLAID-style):
``INDEX/ivf/`` holds k-means centres of the token vectors and, per centre, the rows and documents of its
tokens; a query probes each vector's best centres, scores documents by centroid interaction, and scores
only the best ``nexact`` of them exactly, reading their vectors from disk (``ndocs`` and ``nexact`` grow with
the collection: :meth:`~pyserini_ckd.teacher.centroid_index.Approximate.sized`). With ``ndecompress``, residual
codes of the tokens (``INDEX/ivf/residuals/``, :mod:`~pyserini_ckd.teacher.residuals`) rank the survivors of the
centroid interaction first, so fewer are read from disk. PRF's nearest tokens look in the same lists (ranked
from their vectors, or with ``prf_codes`` from the codes). :func:`first_stage` picks it: ``auto`` is exact up to :data:`APPROX_FROM_TOKENS` token
vectors (where the exact scan is in memory and fast) and approximate beyond, except on a GPU while the index is
held in memory there (:func:`device_in_memory_tokens` sizes that to the GPU's memory).

Building streams the corpus: vectors and vocabulary ids go to disk as each batch is encoded
(:class:`TokenIndexWriter`); what stays in memory is the document frequencies and the offsets.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from tqdm import tqdm

from ..atomic import atomic_output
from ..data.records import Document
from ..dense.batching import token_budget_batches
from ..dense.encoder import _autocast_dtype
from ..errors import InputError
from .centroid_index import APPROX_FROM_TOKENS, FIRST_STAGES, Approximate, CentroidIndex, build_centroid_index, token_rows
from .late_interaction import LateInteractionEncoder

logger = logging.getLogger(__name__)

PAD_PENALTY = 1e4  # subtracted from a padding slot's score (see the module doc)
IN_MEMORY_TOKENS = 2_000_000  # up to this many token vectors the index is held in memory (see the module doc)
DEVICE_MEMORY_SHARE = 0.5  # on a GPU, the share of its memory the in-memory index may take (device_in_memory_tokens)
BLOCK_PADDING = 1.46  # slots a token takes in the length-sorted, padded scan blocks (373.5 bytes / 256 measured)
SCAN_SLOTS = 8192  # token slots a product of the batched scan covers (its output stays in cache)
SCAN_ROWS = 1024  # query vectors a product of the batched scan covers
MIN_ROWS = 64  # fewer query vectors are padded with zeros: oneDNN's bf16 (AMX) kernels want at least 64 rows
NEAR_BLOCK = 64  # nearest tokens: consecutive token rows whose best score the scan keeps
NEAR_SLOTS = NEAR_BLOCK * 128  # token rows a product of the nearest-token scan covers
BUILD_WINDOW_BATCHES = 16  # the index build sorts each window of 16 batches' documents by length
NEAR_GROUP = 24  # vectors whose picked runs are scored exactly in one product (one query's PRF centroids share many)


def in_memory_bytes_per_token(dim: int) -> float:
    """Bytes a token takes held in memory with a 16-bit scan: the float16 matrix (2 dim), the scan's flat copy
    (2 dim), its padded blocks (2 (dim + 1) x :data:`BLOCK_PADDING`) and the squared norm (4): 893 at dim 128
    (889 measured on a synthetic index of 6,000 passages)."""
    return 4 * dim + 2 * (dim + 1) * BLOCK_PADDING + 4


def device_in_memory_tokens(device: Union[str, torch.device], dim: int) -> Optional[int]:
    """On a GPU, the token vectors that :data:`DEVICE_MEMORY_SHARE` of its memory holds in memory
    (:func:`in_memory_bytes_per_token`), which the label job uses as ``in_memory_tokens`` where none is given and
    it exceeds :data:`IN_MEMORY_TOKENS`: an H200 (about 140 GiB) holds about 80 M tokens (1.2 M passages), searched
    exactly there instead of through the approximate first stage on the CPU. None on a CPU."""
    device = torch.device(device)
    if device.type != "cuda":
        return None
    total = torch.cuda.get_device_properties(device).total_memory
    return int(DEVICE_MEMORY_SHARE * total / in_memory_bytes_per_token(dim))


def scan_dtype(device: Union[str, torch.device]) -> torch.dtype:
    """What the batched scan multiplies in: bf16 on a GPU or a CPU with native bf16 (AVX512-BF16, AMX), where
    it is 2-5x float32, else float32. The scan only chooses what is scored exactly (:meth:`TokenIndex.scan`)."""
    from ..dense.encoder import cpu_has_native_bf16

    device = torch.device(device)
    return torch.bfloat16 if device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16()) else torch.float32


def product_error(dtype: torch.dtype) -> float:
    """Relative bound on a scan's product of ``dtype``-rounded factors, accumulated in float32 and rounded to
    ``dtype``: |fl(a).fl(b) - a.b| <= |a| |b| (3u + u^2 + 10^-5), u = 2^-p of a p-bit significand (bf16 2^-8,
    float32 2^-24); 10^-5 covers float32 sums of 129 terms and the exact scoring's own rounding."""
    u = torch.finfo(dtype).eps / 2
    return 3 * u + u * u + 1e-5


def scan_rows(rows: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Query-side rows of a scan's product in ``dtype``, padded with zeros to :data:`MIN_ROWS`."""
    return torch.nn.functional.pad(rows, (0, 0, 0, max(0, MIN_ROWS - rows.shape[0]))).to(dtype)


def map_vectors(path: Path, rows: int, dim: int) -> np.ndarray:
    """(rows, dim) float16 vectors memory-mapped read-only, with the kernel told the access is random
    (``MADV_RANDOM``): what reads through the map are candidates' documents and PRF's probed tokens, scattered
    rows of a few KB, and the default readahead (128 KB or more a fault) would read and cache many times what
    is used, which under a memory cap evicts it again (streamed scans read through :meth:`TokenIndex.read_rows`)."""
    return map_rows(path, rows, dim, np.float16)


def map_rows(path: Path, rows: int, width: int, dtype) -> np.ndarray:
    """:func:`map_vectors` of any fixed-width rows (the residual codes too)."""
    if rows * width == 0:
        return np.zeros((rows, width), dtype=dtype)
    with open(path, "rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    if hasattr(mmap, "MADV_RANDOM"):
        mapped.madvise(mmap.MADV_RANDOM)
    return np.frombuffer(mapped, dtype=dtype, count=rows * width).reshape(rows, width)


def _mapping(array: np.ndarray) -> Optional[mmap.mmap]:
    """The ``mmap`` an array's memory comes from (:func:`map_vectors`), None where it is not mapped."""
    base = array
    while base is not None and not isinstance(base, mmap.mmap):
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    return base


def will_need(tokens: np.ndarray, offsets: np.ndarray, docs: np.ndarray) -> int:
    """Start reading the given documents' vectors from disk at once (``MADV_WILLNEED`` over each document's
    rows ``offsets[d]:offsets[d + 1]``, widened to whole pages, sorted and merged where they touch); returns the
    number of ranges advised (0 where ``tokens`` is not a map). Through the ``MADV_RANDOM`` map each page of a
    candidate is otherwise read when first touched, one synchronous read after another (a 67-token document
    spans 5 pages); advised, the reads are queued together and the disk serves them in parallel."""
    d = np.sort(np.asarray(docs, dtype=np.int64))
    return will_need_rows(tokens, offsets[d], offsets[d + 1])


def will_need_rows(tokens: np.ndarray, lo_rows: np.ndarray, hi_rows: np.ndarray) -> int:
    """:func:`will_need` of row ranges ``lo_rows[i]:hi_rows[i]`` (sorted by ``lo_rows``): PRF's probed tokens too."""
    mapped = _mapping(tokens)
    if mapped is None or not hasattr(mmap, "MADV_WILLNEED") or len(lo_rows) == 0:
        return 0
    row, page = tokens.shape[1] * tokens.itemsize, mmap.PAGESIZE
    lo = np.asarray(lo_rows, dtype=np.int64) * row // page * page
    hi = -(-np.asarray(hi_rows, dtype=np.int64) * row // page) * page
    keep = hi > lo
    lo, hi = lo[keep], hi[keep]
    if len(lo) == 0:
        return 0
    # a new range starts where a row range begins past every earlier one's end
    new = np.concatenate([[True], lo[1:] > np.maximum.accumulate(hi)[:-1]])
    starts, ends = lo[new], np.maximum.reduceat(hi, np.flatnonzero(new))
    for s, e in zip(starts.tolist(), ends.tolist()):
        mapped.madvise(mmap.MADV_WILLNEED, s, e - s)
    return len(starts)


@dataclass
class TokenIndex:
    path: Path
    tokens: np.ndarray  # memory-mapped (T, dim) float16 (map_vectors)
    offsets: np.ndarray
    token_ids: np.ndarray
    df: np.ndarray
    docids: List[str]
    similarity: str
    device: str = "cpu"  # where searches run (the token matrix is copied there on first use)
    in_memory_tokens: int = IN_MEMORY_TOKENS  # beyond this many token vectors, search streams them from disk
    _dense: Optional[torch.Tensor] = None
    _block_cache: Optional[List[Tuple[torch.Tensor, torch.Tensor]]] = None
    _lengths: Optional[np.ndarray] = None
    _stream_bounds: Optional[List[Tuple[int, int]]] = None
    _centroids: Optional[CentroidIndex] = None
    _scan_blocks: Optional[List[Tuple[torch.Tensor, torch.Tensor]]] = None
    _scan_flat: Optional[torch.Tensor] = None
    _token_norm: Optional[float] = None
    _sq: Optional[torch.Tensor] = None

    @property
    def num_docs(self) -> int:
        return len(self.docids)

    @property
    def lengths(self) -> np.ndarray:
        """(N,) kept tokens of each document (computed once: every search needs them)."""
        if self._lengths is None:
            self._lengths = np.diff(self.offsets)
        return self._lengths

    @classmethod
    def load(cls, path: Union[str, Path], in_memory_tokens: Optional[int] = None) -> "TokenIndex":
        """The index in ``path``, memory-mapped; ``in_memory_tokens`` replaces :data:`IN_MEMORY_TOKENS` as the size up
        to which it is held in memory (0: every search streamed from disk)."""
        path = Path(path)
        if not (path / "meta.json").is_file():
            raise InputError(path, None, "not a teacher token index (no meta.json)")
        meta = json.loads((path / "meta.json").read_text())
        tokens = map_vectors(path / "tokens.f16", meta["tokens"], meta["dim"])
        if (path / "token_ids.i32").is_file():  # written while building (older indexes: token_ids.npy)
            token_ids = np.memmap(path / "token_ids.i32", dtype=np.int32, mode="r", shape=(meta["tokens"],))
        else:
            token_ids = np.load(path / "token_ids.npy")
        index = cls(path, tokens, np.load(path / "offsets.npy"), token_ids, np.load(path / "df.npy"),
                    (path / "docids").read_text().split("\n")[:-1], meta["similarity"])
        if in_memory_tokens is not None:
            index.in_memory_tokens = in_memory_tokens
        return index

    @property
    def streamed(self) -> bool:
        """Whether searches read the vectors from disk block by block (see the module doc)."""
        return self.tokens.shape[0] > self.in_memory_tokens

    def idf(self, token_id: int) -> float:
        """log((1 + N) / (df + 1)), as in ColBERT-PRF."""
        return float(np.log((1 + self.num_docs) / (self.df[token_id] + 1)))

    def doc_tokens(self, i: int) -> torch.Tensor:
        if self._dense is not None:  # held in memory (the file's float16 values)
            return self._dense[int(self.offsets[i]):int(self.offsets[i + 1])].cpu().float()
        return torch.from_numpy(np.asarray(self.tokens[self.offsets[i]:self.offsets[i + 1]], dtype=np.float32))

    def read_rows(self, lo: int, hi: int) -> np.ndarray:
        """Token vectors ``lo:hi`` as float32, read from the file rather than through the memory map: a scan of
        the whole index then leaves its pages in the page cache, not in this process's resident memory."""
        return torch.from_numpy(self._read_stored(lo, hi)).float().numpy()  # torch converts fp16 ~5x faster than numpy

    def _read_stored(self, lo: int, hi: int) -> np.ndarray:
        """Token vectors ``lo:hi`` as stored (float16), read from the file (:meth:`read_rows`)."""
        total, dim = self.tokens.shape
        lo, hi = max(0, int(lo)), min(total, int(hi))
        if hi <= lo:
            return np.zeros((0, dim), dtype=np.float16)
        raw = np.fromfile(self.path / "tokens.f16", dtype=np.float16, count=(hi - lo) * dim, offset=lo * dim * 2)
        return raw.reshape(hi - lo, dim)

    def _all(self) -> torch.Tensor:
        """The flat (T, dim) token matrix on the search device, in the file's float16 (what is stored: a float32
        copy would hold the same values in twice the memory; each use converts the rows it takes), read from the
        file in one go (through the ``MADV_RANDOM`` map each 4 KB page would fault on its own: seconds for
        SciFact's 150 MB)."""
        if self._dense is None:
            mapped = _mapping(self.tokens) is not None
            flat = self._read_stored(0, self.tokens.shape[0]) if mapped else np.asarray(self.tokens, dtype=np.float16)
            self._dense = torch.from_numpy(flat).to(self.device)
        return self._dense

    def _blocks(self, block_slots: int = 1 << 18) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """(document indices (n,), augmented padded tokens (n, L, dim + 1)) of each block; see the module doc."""
        if self._block_cache is None:
            self._block_cache = self._build_blocks(torch.float32, block_slots)
        return self._block_cache

    def _build_blocks(self, dtype: torch.dtype, block_slots: int = 1 << 18) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """The blocks of documents sorted by length, in ``dtype``."""
        tokens = self._all()
        lengths = self.lengths
        order = np.argsort(lengths, kind="stable")
        t_sq = self._squares() if self.similarity == "l2" else torch.zeros(tokens.shape[0], device=tokens.device)
        blocks, start = [], 0
        while start < self.num_docs:
            end = start + 1
            while end < self.num_docs and (end - start + 1) * max(1, lengths[order[end]]) <= block_slots:
                end += 1
            docs = order[start:end]
            blocks.append((torch.from_numpy(docs).to(tokens.device),
                           self._block(docs, lengths, self.offsets[docs], tokens, t_sq, dtype)))
            start = end
        return blocks

    def _streamed_bounds(self, block_slots: int = 1 << 18) -> List[Tuple[int, int]]:
        """(first, end) documents of each streamed block: consecutive documents while their count times the
        longest one's length fits ``block_slots`` (computed once)."""
        if self._stream_bounds is None:
            lengths, bounds, start = self.lengths, [], 0
            while start < self.num_docs:
                end, width = start + 1, max(1, int(lengths[start]))
                while end < self.num_docs and (end - start + 1) * max(width, int(lengths[end])) <= block_slots:
                    width = max(width, int(lengths[end]))
                    end += 1
                bounds.append((start, end))
                start = end
            self._stream_bounds = bounds
        return self._stream_bounds

    def _streamed_blocks(self):
        """Blocks of documents in file order read from the memory-mapped vectors, one at a time."""
        for start, end in self._streamed_bounds():
            lo, hi = int(self.offsets[start]), int(self.offsets[end])
            tokens = torch.from_numpy(self.read_rows(lo, hi)).to(self.device)
            t_sq = (tokens * tokens).sum(-1) if self.similarity == "l2" else torch.zeros(tokens.shape[0], device=tokens.device)
            docs = np.arange(start, end)
            yield torch.from_numpy(docs).to(self.device), self._block(docs, self.lengths, self.offsets[docs] - lo, tokens, t_sq)

    def _block(self, docs: np.ndarray, lengths: np.ndarray, starts: np.ndarray, tokens: torch.Tensor,
               t_sq: torch.Tensor, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
        """The augmented padded (n, L, dim + 1) tensor of ``docs``, whose rows start at ``starts`` in ``tokens``
        (in ``dtype``, default the tokens')."""
        width = max(1, int(lengths[docs].max()))
        rows = np.repeat(np.arange(len(docs)), lengths[docs])
        cols = np.concatenate([np.arange(n) for n in lengths[docs]]) if rows.size else np.zeros(0, dtype=np.int64)
        flat = torch.from_numpy(starts[rows] + cols).to(tokens.device)
        aug = torch.zeros(len(docs), width, tokens.shape[1] + 1, dtype=dtype or tokens.dtype, device=tokens.device)
        aug[..., -1] = PAD_PENALTY
        r, c = torch.from_numpy(rows).to(tokens.device), torch.from_numpy(cols).to(tokens.device)
        aug[r, c, :-1] = tokens[flat].to(aug.dtype)
        aug[r, c, -1] = t_sq[flat].to(aug.dtype)
        return aug

    def maxsim_all(self, q: torch.Tensor, weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Scores (N,) of one query (m, k) against every document, exactly (in memory, or streamed from disk)."""
        blocks = self._streamed_blocks() if self.streamed else self._blocks()
        device = torch.device(self.device) if self.streamed else self._blocks()[0][1].device
        q = q.to(device)
        scale = 2.0 if self.similarity == "l2" else 1.0
        q_aug = torch.cat([scale * q, -torch.ones(q.shape[0], 1, device=device)], dim=1)
        best = torch.zeros(q.shape[0], self.num_docs, device=device)
        for docs, aug in blocks:
            n, width = aug.shape[:2]
            best[:, docs] = (q_aug @ aug.reshape(n * width, -1).T).view(-1, n, width).amax(-1)
        if self.similarity == "l2":
            best -= (q * q).sum(-1, keepdim=True)
        best[:, torch.from_numpy(self.lengths == 0).to(device)] = 0.0
        if weights is not None:
            best = best * weights.to(device)[:, None]
        return best.sum(0).cpu()

    def maxsim_docs(self, q: torch.Tensor, doc_indices: Sequence[int], weights: Optional[torch.Tensor] = None,
                    chunk: int = 4096, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """Scores of one query against the given documents (their vectors read from disk), ``chunk`` documents
        at a time: one product of the query with their tokens laid end to end, then each document's maximum
        over its own columns (no padding). In float64 by default: a labels file's scores (six decimals) then
        do not depend on how many threads sum the products, so a labelling run split over processes or
        resumed after a kill writes the same bytes (the approximate first stage ranks in float32, as the
        exact scan does)."""
        docs = np.asarray(doc_indices, dtype=np.int64)
        out = torch.zeros(len(docs))
        lengths = self.lengths
        q = q.to(dtype)
        q_sq = (q * q).sum(-1, keepdim=True)
        w = weights.to(dtype)[:, None] if weights is not None else None
        for lo in range(0, len(docs), chunk):
            part = docs[lo:lo + chunk]
            kept = np.flatnonzero(lengths[part] > 0)  # a document without tokens scores 0
            if len(kept) == 0:
                continue
            own = lengths[part[kept]]
            rows = token_rows(self.offsets, part[kept])
            t_sq = None
            if self._dense is not None:  # held in memory for the exact scan: no read
                picked = torch.from_numpy(rows).to(self._dense.device)
                tokens = self._dense[picked].cpu().to(dtype)
                if dtype == torch.float32:
                    t_sq = self._squares()[picked].cpu()
            else:
                will_need(self.tokens, self.offsets, part[kept])
                tokens = torch.from_numpy(np.asarray(self.tokens[rows])).to(dtype)
            s = q @ tokens.T
            if self.similarity == "l2":  # -||q - t||^2 = 2 q.t - ||q||^2 - ||t||^2
                s = 2 * s - (t_sq if t_sq is not None else (tokens * tokens).sum(-1))[None, :] - q_sq
            starts = np.concatenate([[0], np.cumsum(own)[:-1]])
            best = torch.from_numpy(np.maximum.reduceat(s.numpy(), starts, axis=1))
            if w is not None:
                best = best * w
            out[lo + kept] = best.sum(0).float()
        return out

    def search(self, q: torch.Tensor, k: int, weights: Optional[torch.Tensor] = None,
               approximate: Optional[Approximate] = None) -> List[Tuple[int, float]]:
        """Top-k (document index, score); ties broken by document index.

        Exact over all documents, or, with ``approximate``, exact over the ``approximate.nexact`` documents of
        highest centroid-interaction score (``INDEX/ivf/``, built on first use; see the module doc).
        """
        return self.search_many([q], k, [weights], approximate)[0]

    def search_many(self, queries: Sequence[torch.Tensor], k: int,
                    weights: Optional[Sequence[Optional[torch.Tensor]]] = None,
                    approximate: Optional[Approximate] = None) -> List[List[Tuple[int, float]]]:
        """:meth:`search` of several queries. In memory and exact, one batched :meth:`scan` of every document
        bounds each query's top k, and only the documents the bound cannot rule out are scored exactly
        (:meth:`_exact_top`, float32), so the ranking is the exact one. Streamed or approximate: one query at a time."""
        weights = list(weights) if weights is not None else [None] * len(queries)
        if not queries:
            return []
        if approximate is not None:
            ivf = self.centroid_index()
            if approximate.sized(self.num_docs).ndecompress:
                self.residual_codes(approximate.residual_bits)
            return [self.rescore(q, ivf.candidates(q, w, approximate), k, w) for q, w in zip(queries, weights)]
        k = min(k, self.num_docs)
        if self.streamed:
            out = []
            for q, w in zip(queries, weights):
                scores = self.maxsim_all(q, w)
                order = np.lexsort((np.arange(self.num_docs), -scores.numpy()))[:k]
                out.append([(int(i), float(scores[i])) for i in order])
            return out
        if k == 0:
            return [[] for _ in queries]
        scores, bounds = self.scan(queries, weights)
        return [self._exact_top(q, w, s, e, k) for q, w, s, e in zip(queries, weights, scores, bounds.tolist())]

    def _exact_top(self, q: torch.Tensor, w: Optional[torch.Tensor], scanned: torch.Tensor, bound: float,
                   k: int) -> List[Tuple[int, float]]:
        """The exact top k from scan scores within ``bound`` of the exact ones: the scan's best 2k are scored
        exactly first; their k-th best exact score t is at most the exact top k's lowest, whose documents
        therefore scan at t - bound or more; the rest of those are scored exactly too (:meth:`rescore`'s order)."""
        first = scanned.topk(min(2 * k, self.num_docs)).indices.numpy()
        exact = self.maxsim_docs(q, first, w, dtype=torch.float32).numpy()
        floor = np.partition(exact, len(exact) - k)[len(exact) - k] - bound
        more = np.setdiff1d(torch.nonzero(scanned >= floor).flatten().numpy(), first)
        docs = np.concatenate([first, more])
        exact = np.concatenate([exact, self.maxsim_docs(q, more, w, dtype=torch.float32).numpy()])
        order = np.lexsort((docs, -exact))[:k]
        return [(int(docs[i]), float(exact[i])) for i in order]

    def _scan_state(self) -> Tuple[List[Tuple[torch.Tensor, torch.Tensor]], float, torch.dtype]:
        """The blocks in the scan's dtype, the largest augmented token norm max ||t'||, and the dtype."""
        if self._scan_blocks is None:
            dtype = scan_dtype(self.device)
            self._scan_blocks = self._blocks() if dtype == torch.float32 else self._build_blocks(dtype)
        return self._scan_blocks, self.token_norm(), self._scan_blocks[0][1].dtype

    def _squares(self) -> torch.Tensor:
        """||t||^2 of every stored token (float32, in memory; computed once)."""
        if self._sq is None:
            dense, step = self._all(), 1 << 20
            self._sq = torch.cat([torch.linalg.vector_norm(dense[lo:lo + step].float(), dim=-1) ** 2
                                  for lo in range(0, dense.shape[0], step)]) if len(dense) else torch.zeros(0, device=dense.device)
        return self._sq

    def token_norm(self) -> float:
        """max over stored tokens of ||t'||, t' = [t, ||t||^2] (L2) or [t, 0] (cosine): the scan's error bound uses it."""
        if self._token_norm is None:
            sq = self._squares()
            self._token_norm = float((sq + sq * sq if self.similarity == "l2" else sq).max().sqrt()) if len(sq) else 0.0
        return self._token_norm

    def scan(self, queries: Sequence[torch.Tensor], weights: Sequence[Optional[torch.Tensor]]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Scores (B, N) of every query against every document in memory, in one pass over the blocks for up to
        :data:`SCAN_ROWS` query vectors, multiplied in :func:`scan_dtype`, and a bound (B,) on each query's error.

        Each product q'.t' (module doc) is off by at most |q'| |t'| e (e = :func:`product_error`); the maximum over
        a document's slots by no more than the largest of these, so the score sum_i w_i max_j q'_i.t'_j by at most
        E = sum_i |w_i| |q'_i| max|t'| e."""
        blocks, t_norm, dtype = self._scan_state()
        device = blocks[0][1].device
        scale = 2.0 if self.similarity == "l2" else 1.0
        rows = torch.cat([torch.cat([scale * q.float(), -torch.ones(q.shape[0], 1)], dim=1) for q in queries]).to(device)
        shift = torch.cat([(q.float() * q.float()).sum(-1) if self.similarity == "l2" else torch.zeros(q.shape[0])
                           for q in queries]).to(device)
        w = torch.cat([wt.float() if wt is not None else torch.ones(q.shape[0]) for q, wt in zip(queries, weights)]).to(device)
        owner = torch.repeat_interleave(torch.arange(len(queries)), torch.tensor([q.shape[0] for q in queries])).to(device)
        bounds = torch.zeros(len(queries), device=device).index_add_(0, owner, w.abs() * rows.norm(dim=1) * t_norm * product_error(dtype))
        # per query sum_i w_i max_j q'_i.t'_j - sum_i w_i ||q_i||^2, the first sum as a product of the (N, rows)
        # maxima, in block order, with the (rows, B) matrix of each row's weight in its query's column
        owned = torch.zeros(rows.shape[0], len(queries), device=device)
        owned[torch.arange(rows.shape[0], device=device), owner] = w
        in_order = torch.zeros(self.num_docs, len(queries), device=device)
        for r0 in range(0, rows.shape[0], SCAN_ROWS):
            part_rows = rows[r0:r0 + SCAN_ROWS]
            n_rows = part_rows.shape[0]
            q = scan_rows(part_rows, dtype)
            best = torch.empty(self.num_docs, n_rows, device=device)
            at = 0
            for _, aug in blocks:
                n, width = aug.shape[:2]
                step = max(1, SCAN_SLOTS // width)
                for lo in range(0, n, step):
                    sub = aug[lo:lo + step]
                    m = (sub.reshape(-1, sub.shape[-1]) @ q.T).view(sub.shape[0], width, -1).amax(1)
                    best[at:at + m.shape[0]] = m[:, :n_rows]
                    at += m.shape[0]
            in_order += best @ owned[r0:r0 + n_rows]
        scores = torch.empty(len(queries), self.num_docs, device=device)
        scores[:, torch.cat([docs for docs, _ in blocks])] = (in_order - owned.T @ shift).T
        scores[:, torch.from_numpy(self.lengths == 0).to(device)] = 0.0
        return scores.cpu(), bounds.cpu()

    def rescore(self, q: torch.Tensor, candidates: np.ndarray, k: int,
                weights: Optional[torch.Tensor] = None) -> List[Tuple[int, float]]:
        """Top-k of the ``candidates`` (document indices) scored exactly from their vectors, in float32 as the
        exact scan ranks; ties broken by document index (the approximate search's last step)."""
        scores = self.maxsim_docs(q, candidates, weights, dtype=torch.float32).numpy()
        order = np.lexsort((candidates, -scores))[:k]
        return [(int(candidates[i]), float(scores[i])) for i in order]

    def first_stage(self, mode: str = "auto", settings: Approximate = Approximate()) -> Optional[Approximate]:
        """``settings``, sized to this index (:meth:`Approximate.sized`), when the first stage is approximate
        (``approximate``, or ``auto`` past :data:`APPROX_FROM_TOKENS` token vectors, unless the index is held in
        memory on a GPU, whose exact scan is fast at any size it holds), else None (exact)."""
        if mode not in FIRST_STAGES:
            raise ValueError(f"first stage must be one of {', '.join(FIRST_STAGES)}, got {mode!r}")
        on_gpu = torch.device(self.device).type == "cuda" and not self.streamed
        if mode == "approximate" or (mode == "auto" and self.tokens.shape[0] > APPROX_FROM_TOKENS and not on_gpu):
            return settings.sized(self.num_docs)
        return None

    def centroid_index(self, build: bool = True) -> Optional[CentroidIndex]:
        """The approximate first stage's centres and lists (``INDEX/ivf/``), built when missing and ``build``."""
        if self._centroids is None:
            if CentroidIndex.exists(self.path):
                self._centroids = CentroidIndex(self.path / "ivf", self.offsets, self.similarity)
            elif build:
                self._centroids = build_centroid_index(self)
        return self._centroids

    def residual_codes(self, bits: Optional[int] = None):
        """The residual codes of ``INDEX/ivf/residuals/`` (:mod:`~pyserini_ckd.teacher.residuals`), built with
        ``bits`` a dimension (default ``Approximate.residual_bits``) where missing, the centres too; a ValueError
        where they were built with other bits than ``bits``."""
        from .residuals import build_residuals

        ivf = self.centroid_index()
        if ivf.residuals is None:
            return build_residuals(self, ivf, bits or Approximate().residual_bits)
        if bits is not None and ivf.residuals.codec.nbits != bits:
            raise ValueError(f"{ivf.path / 'residuals'}: built with {ivf.residuals.codec.nbits} bits a dimension, "
                             f"{bits} asked (remove the folder to build it again)")
        return ivf.residuals

    def nearest_tokens(self, vectors: torch.Tensor, k: int = 10, cells: Optional[int] = None,
                       codes: bool = False) -> torch.Tensor:
        """Indices (c, k) of each vector's k nearest stored token vectors (by inner product): exact in memory,
        among the tokens of the ``cells`` best centres' lists (default ``Approximate.prf_cells``) where ``ivf/``
        is built and the index is streamed (-1 where fewer were probed; with ``codes`` ranked from their residual
        codes, :meth:`CentroidIndex.nearest_tokens`), else :meth:`nearest_tokens_exact`."""
        k = min(k, self.tokens.shape[0])
        if not self.streamed:
            return self.nearest_tokens_many([vectors], k)[0]
        ivf = self.centroid_index(build=False)
        if ivf is not None:
            if codes:
                self.residual_codes()
            return ivf.nearest_tokens(vectors, k, self.tokens, cells or Approximate().prf_cells, codes)
        return self.nearest_tokens_exact(vectors, k)

    def nearest_tokens_exact(self, vectors: torch.Tensor, k: int = 10) -> torch.Tensor:
        """Indices (c, k) of each vector's exact k nearest tokens, by a running top-k over the file read in
        chunks of 2^20 rows (float32)."""
        k = min(k, self.tokens.shape[0])
        best_s = torch.full((vectors.shape[0], k), float("-inf"))
        best_i = torch.zeros((vectors.shape[0], k), dtype=torch.int64)
        step = 1 << 20
        for lo in range(0, self.tokens.shape[0], step):
            chunk = torch.from_numpy(self.read_rows(lo, lo + step))
            s, i = (vectors.float() @ chunk.T).topk(min(k, chunk.shape[0]), dim=-1)
            merged_s, pick = torch.cat([best_s, s], dim=1).topk(k, dim=-1)
            best_i = torch.cat([best_i, i + lo], dim=1).gather(1, pick)
            best_s = merged_s
        return best_i

    def nearest_tokens_many(self, vectors: Sequence[torch.Tensor], k: int = 10,
                            cells: Optional[int] = None, codes: bool = False) -> List[torch.Tensor]:
        """:meth:`nearest_tokens` of several sets of vectors (PRF's centroids of several queries). In memory, one
        pass multiplies every vector with all tokens in :func:`scan_dtype` and keeps each run of
        :data:`NEAR_BLOCK` rows' best score; a token of a vector's exact top k lies in a run whose best is at
        least b_k - 2 E (b_k the k-th best run, E = |c| max|t| e the error bound, e = :func:`product_error`),
        and only those runs' tokens are scored exactly (float32). Streamed: one set at a time."""
        if self.streamed:
            return [self.nearest_tokens(v, k, cells, codes) for v in vectors]
        total = self.tokens.shape[0]
        k = min(k, total)
        if k == 0:
            return [torch.zeros(v.shape[0], 0, dtype=torch.int64) for v in vectors]
        dense = self._all()
        device = dense.device
        c = torch.cat([v.float() for v in vectors]).to(device)
        flat, dtype = self._near_scan()
        runs, chunk = -(-total // NEAR_BLOCK), NEAR_SLOTS
        best = torch.empty(runs, c.shape[0], device=device)  # run-major: each product's rows are runs
        for r0 in range(0, c.shape[0], SCAN_ROWS):
            part = c[r0:r0 + SCAN_ROWS]
            q = scan_rows(part, dtype)
            for lo in range(0, total, chunk):
                rows = flat[lo:lo + chunk]
                if rows.shape[0] % NEAR_BLOCK:  # the last run: padded with copies of the last token
                    rows = torch.cat([rows, rows[-1:].expand(-rows.shape[0] % NEAR_BLOCK, -1)])
                # tokens x vectors, so that the max over a run's 64 rows runs along memory (vectorised across
                # vectors), not across each row's 64 neighbours: about twice as fast on x86
                m = (rows @ q.T).view(-1, NEAR_BLOCK, q.shape[0]).amax(1)
                best[lo // NEAR_BLOCK:lo // NEAR_BLOCK + m.shape[0], r0:r0 + part.shape[0]] = m[:, :part.shape[0]].float()
        best = best.T
        bound = c.norm(dim=1) * float(self._squares().max().sqrt()) * product_error(dtype)
        floor = best.topk(min(k, runs), dim=1).values[:, -1] - 2 * bound
        picked = best >= floor[:, None]
        out = [self._near_exact(dense, c[g:g + NEAR_GROUP], picked[g:g + NEAR_GROUP], k)
               for g in range(0, c.shape[0], NEAR_GROUP)]
        found = torch.cat(out).cpu() if out else torch.zeros(0, k, dtype=torch.int64)
        return list(found.split([v.shape[0] for v in vectors]))

    @staticmethod
    def _near_exact(dense: torch.Tensor, vectors: torch.Tensor, picked: torch.Tensor, k: int) -> torch.Tensor:
        """Indices (g, k) of each vector's k best tokens (float32 inner products) among the runs ``picked``
        (g, runs) for it: the rows of every run some vector of the group picked are gathered once and multiplied
        with all the group's vectors in one product (the vectors of one query's PRF share many runs); a vector's
        scores outside its own runs, and past the last token, are -inf before the top k."""
        total, device = dense.shape[0], dense.device
        runs = torch.nonzero(picked.any(0)).flatten()
        tokens = (runs[:, None] * NEAR_BLOCK + torch.arange(NEAR_BLOCK, device=device)).flatten()
        scores = vectors @ dense[tokens.clamp(max=total - 1)].float().T  # (g, runs * NEAR_BLOCK)
        keep = picked[:, runs].repeat_interleave(NEAR_BLOCK, dim=1) & (tokens < total)
        scores[~keep] = float("-inf")
        return tokens[scores.topk(k, dim=1).indices]

    def _near_scan(self) -> Tuple[torch.Tensor, torch.dtype]:
        """The token matrix in :func:`scan_dtype`, and the dtype."""
        if self._scan_flat is None:
            self._scan_flat = self._all().to(scan_dtype(self.device))
        return self._scan_flat, self._scan_flat.dtype


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


class TokenIndexWriter:
    """Streams documents' token vectors into an index folder (atomically, on :meth:`close`).

    Vectors go to ``tokens.f16`` and vocabulary ids to ``token_ids.i32`` as they come; only the offsets
    (8 bytes a document), the ids and the document frequencies stay in memory."""

    def __init__(self, out_dir: Union[str, Path], dim: int, vocab: int) -> None:
        self.out_dir = Path(out_dir)
        self._atomic = atomic_output(self.out_dir, directory=True)
        self.tmp = self._atomic.__enter__()
        self.dim = dim
        self.df = np.zeros(vocab, dtype=np.int32)
        self.offsets = array("q", [0])
        self.docids: List[str] = []
        self.count = 0
        self._vectors = open(self.tmp / "tokens.f16", "wb")
        self._ids = open(self.tmp / "token_ids.i32", "wb")

    def add(self, docid: str, vectors: np.ndarray, token_ids: np.ndarray) -> None:
        """One document's kept token vectors (n, dim) and their vocabulary ids (n,)."""
        self._vectors.write(np.ascontiguousarray(vectors, dtype=np.float16).tobytes())
        self._ids.write(np.ascontiguousarray(token_ids, dtype=np.int32).tobytes())
        self.df[np.unique(token_ids)] += 1
        self.count += len(token_ids)
        self.offsets.append(self.count)
        self.docids.append(docid)

    def close(self, meta: dict) -> TokenIndex:
        """Write offsets, document frequencies, ids and ``meta.json`` (``meta`` plus dim and counts); rename."""
        self._vectors.close()
        self._ids.close()
        np.save(self.tmp / "offsets.npy", np.frombuffer(self.offsets, dtype=np.int64))
        np.save(self.tmp / "df.npy", self.df)
        (self.tmp / "docids").write_text("".join(f"{d}\n" for d in self.docids))
        (self.tmp / "meta.json").write_text(json.dumps({**meta, "dim": self.dim, "docs": len(self.docids), "tokens": self.count},
                                                       indent=1))
        self._atomic.__exit__(None, None, None)
        return TokenIndex.load(self.out_dir)

    def abort(self, exc: BaseException) -> None:
        """Remove what was written (nothing half-written stays)."""
        self._vectors.close()
        self._ids.close()
        self._atomic.__exit__(type(exc), exc, exc.__traceback__)


def build_token_index(teacher: LateInteractionEncoder, documents: Iterable[Document], out_dir: Union[str, Path],
                      total: Optional[int] = None, batch_size: int = 32, corpus_fingerprint: str = "",
                      teacher_fingerprint: str = "") -> TokenIndex:
    """Encode every document with the teacher, streaming its vectors into the index folder (atomic). Each window
    of :data:`BUILD_WINDOW_BATCHES` batches is encoded in length-sorted batches: 1.8-1.9x faster than batches in
    corpus order on cacm and npl, whose lengths vary; the same on SciFact, whose passages reach the cap."""
    writer = TokenIndexWriter(out_dir, teacher.config.dim, len(teacher.tokenizer.get_vocab()))
    dtype = _autocast_dtype("auto", teacher.device, "passage")  # bf16 on a GPU or a CPU with native bf16
    try:
        with tqdm(total=total, unit="doc", desc="teacher index") as bar:
            window: List[Document] = []

            def flush() -> None:
                # length-sorted batches within the window (less padding to compute where lengths vary), written
                # back in the window's order
                ids = teacher.doc_ids([d.contents for d in window])
                rows: List[Tuple[np.ndarray, np.ndarray]] = [None] * len(window)  # type: ignore[list-item]
                longest = max(len(x) for x in ids)
                for batch in token_budget_batches([len(x) for x in ids], batch_size * longest, batch_size):
                    with torch.autocast(teacher.device.type, dtype=dtype, enabled=dtype is not None):
                        emb, mask, input_ids = teacher.encode_doc_ids([ids[i] for i in batch])
                    # one copy a batch from a GPU, not two a document
                    emb, mask, input_ids = emb.float().cpu(), mask.cpu(), input_ids.cpu()
                    for row, i in enumerate(batch):
                        keep = mask[row]
                        rows[i] = (emb[row][keep].numpy(), input_ids[row][keep].numpy())
                for doc, (vectors, token_ids) in zip(window, rows):
                    writer.add(doc.docid, vectors, token_ids)
                bar.update(len(window))
                window.clear()

            for doc in documents:
                window.append(doc)
                if len(window) >= batch_size * BUILD_WINDOW_BATCHES:
                    flush()
            if window:
                flush()
    except BaseException as exc:
        writer.abort(exc)
        raise
    index = writer.close({"teacher": teacher.source, "similarity": teacher.config.similarity,
                          "corpus_fingerprint": corpus_fingerprint, "teacher_fingerprint": teacher_fingerprint})
    logger.info("teacher index: %d documents, %d token vectors", index.num_docs, index.tokens.shape[0])
    return index
