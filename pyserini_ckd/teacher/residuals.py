"""Residual codes of a teacher's token vectors: ColBERTv2's compression (Santhanam et al., 2022), here a
stage between the centroid interaction and the exact scoring from disk.

Every token vector t is assigned to a centre c(t) of the approximate first stage (``ivf/codes.u16``, or
``codes.u32`` past 65,536 centres), whose stored mean is mu_c (``ivf/centroids.npy``). Its residual r = t - mu_{c(t)} is kept with ``nbits`` bits a
dimension: with cutoffs k_1 < ... < k_{B-1} (B = 2^nbits) shared by every dimension,

    bucket(x) = #{j : x >= k_j},        r_hat_d = w_{bucket(r_d)},

where k_j is the j/B quantile and w_b the (b + 1/2)/B quantile of a sample of residual values (ColBERTv2's
bucket cutoffs and weights). A query vector's similarity to the token is then approximated by

    q . t ~ q . mu_{c(t)} + q . r_hat(t),

the first term read from the (C, m) centre-score table the full centroid interaction already has, the second
one product of the decoded residuals with the query (in bf16 where the CPU multiplies bf16 natively, as the
exact scan's bound does: :func:`~pyserini_ckd.teacher.token_index.scan_dtype`; these scores only choose what
is scored exactly). Documents' MaxSim from codes,

    D(d) = sum_i w_i max_{t in d} (q_i . mu_{c(t)} + q_i . r_hat(t)),

ranks the ``ndecompress`` documents the full interaction kept, and only the ``nexact`` best by D are read
from disk and scored exactly (:class:`~pyserini_ckd.teacher.centroid_index.Approximate`). An L2 teacher's
score -||q - t||^2 = 2 q . t - ||q||^2 - ||t||^2 also needs ||t||^2, kept exactly (float16) beside the codes:

    -||q - t||^2 ~ 2 (q . mu_{c(t)} + q . r_hat(t)) - ||q||^2 - ||t||^2,

off by 2 |q . (r - r_hat)| at most, as the inner product is by |q . (r - r_hat)|. PRF's nearest tokens rank
by inner product either way.

Files, ``INDEX/ivf/residuals/`` (built once, atomically, streaming the vectors chunk by chunk):

- ``rows.u8`` (T, dim * nbits / 8): each token row's packed buckets, in row order (a document's tokens
  together: dimension d of a row sits in byte d // (8 / nbits), bits nbits * (d mod 8 / nbits) up);
- ``lists.u8``: the same codes in the order of the inverted lists (``ivf/tokens.u32``), so a probed list's
  codes are one contiguous read;
- ``norms.f16`` (T,): ||t||^2 of each token row, L2 teachers only;
- ``codec.json``: nbits, the cutoffs and weights, the sample and build seconds.

At 128 dimensions and 2 bits: 32 bytes a token in each order against 256 of float16 (about 2.2 GB a million
passages of 67 tokens, each order).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..atomic import atomic_output

NBITS = (1, 2, 4, 8)
SAMPLE_ROWS = 1 << 16  # residuals whose values give the cutoffs and weights (8 M values at 128 dimensions)
PLACE_ROWS = 1 << 22  # rows whose codes are placed in list order at once (128 MB at 32 bytes a row)


@dataclass(frozen=True)
class ResidualCodec:
    """``nbits`` a dimension, the B - 1 cutoffs and B weights of the module doc."""

    nbits: int
    cutoffs: np.ndarray
    weights: np.ndarray

    @classmethod
    def fit(cls, residuals: np.ndarray, nbits: int) -> "ResidualCodec":
        """Cutoffs at the j/B quantiles, weights at the (b + 1/2)/B quantiles of every value of ``residuals``."""
        if nbits not in NBITS:
            raise ValueError(f"residual bits must be one of {', '.join(map(str, NBITS))}, got {nbits}")
        buckets = 1 << nbits
        values = np.asarray(residuals, dtype=np.float32).ravel()
        cutoffs = np.quantile(values, np.arange(1, buckets) / buckets).astype(np.float32)
        weights = np.quantile(values, (np.arange(buckets) + 0.5) / buckets).astype(np.float32)
        return cls(nbits, cutoffs, weights)

    @property
    def per_byte(self) -> int:
        return 8 // self.nbits

    def width(self, dim: int) -> int:
        """Bytes a token: dim * nbits / 8."""
        if dim % self.per_byte:
            raise ValueError(f"{dim} dimensions do not pack into whole bytes at {self.nbits} bits")
        return dim // self.per_byte

    def encode(self, residuals: np.ndarray) -> np.ndarray:
        """(n, dim) float residuals -> (n, dim * nbits / 8) uint8 packed buckets."""
        n, dim = residuals.shape
        buckets = np.searchsorted(self.cutoffs, residuals, side="right").astype(np.uint8)  # #{j : x >= k_j}
        grouped = buckets.reshape(n, self.width(dim), self.per_byte)
        shifts = (np.arange(self.per_byte, dtype=np.uint8) * self.nbits)
        return np.bitwise_or.reduce(grouped << shifts, axis=2).astype(np.uint8)

    def table(self) -> torch.Tensor:
        """(256, 8 / nbits) float32: the decoded values of every byte's dimensions."""
        byte = np.arange(256, dtype=np.int64)[:, None]
        shifts = np.arange(self.per_byte) * self.nbits
        return torch.from_numpy(self.weights[(byte >> shifts) & ((1 << self.nbits) - 1)].astype(np.float32))

    def decode(self, packed: torch.Tensor, table: Optional[torch.Tensor] = None,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """(n, width) uint8 -> (n, dim) decoded residuals r_hat, float32, or bf16 (the weights rounded to bf16):
        then a byte's 8 / nbits values are gathered as one integer of as many 16-bit halves (2, 4 and 8 bits),
        about 2.5x faster than gathering float32 rows."""
        table = self.table() if table is None else table
        shape = (packed.shape[0], packed.shape[1] * self.per_byte)  # (0, dim) for no rows: an empty inverted list
        whole = {2: torch.int64, 4: torch.int32, 8: torch.int16}.get(self.nbits)
        if dtype == torch.bfloat16 and whole is not None:
            words = table.to(torch.bfloat16).contiguous().view(whole)[:, 0]
            return words.index_select(0, packed.flatten().int()).view(torch.bfloat16).reshape(shape)
        return table[packed.long()].reshape(shape).to(dtype)

    def to_json(self) -> dict:
        return {"nbits": self.nbits, "cutoffs": self.cutoffs.tolist(), "weights": self.weights.tolist()}

    @classmethod
    def from_json(cls, meta: dict) -> "ResidualCodec":
        return cls(int(meta["nbits"]), np.asarray(meta["cutoffs"], dtype=np.float32),
                   np.asarray(meta["weights"], dtype=np.float32))


class Residuals:
    """The ``ivf/residuals/`` folder (module doc), its two code files memory-mapped."""

    def __init__(self, path: Path, tokens: int, dim: int) -> None:
        from .token_index import map_rows

        self.path = Path(path)
        self.meta = json.loads((self.path / "codec.json").read_text())
        self.codec = ResidualCodec.from_json(self.meta)
        width = self.codec.width(dim)
        self.rows = map_rows(self.path / "rows.u8", tokens, width, np.uint8)
        self.lists = map_rows(self.path / "lists.u8", tokens, width, np.uint8)
        self._table = self.codec.table()
        norms = self.path / "norms.f16"
        self.sq_norms = map_rows(norms, tokens, 1, np.float16)[:, 0] if norms.is_file() else None

    @staticmethod
    def exists(ivf_path: Path) -> bool:
        return (Path(ivf_path) / "residuals" / "codec.json").is_file()

    def decode_rows(self, rows: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """r_hat of the given token rows (row order), (len(rows), dim) in ``dtype`` (float32 or bf16)."""
        return self.codec.decode(torch.from_numpy(np.asarray(self.rows[rows])), self._table, dtype)

    def decode_listed(self, lo: int, hi: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """r_hat of list positions lo:hi (``ivf/tokens.u32`` order), (hi - lo, dim) in ``dtype`` (float32 or bf16)."""
        return self.codec.decode(torch.from_numpy(np.array(self.lists[lo:hi])), self._table, dtype)


def build_residuals(index, ivf, nbits: int = 2, seed: int = 0, chunk: int = 1 << 18) -> Residuals:
    """Write ``INDEX/ivf/residuals/`` for a token index and its centroid index (module doc): the codec from
    the residuals of a seeded sample of windows of 256 rows, then one pass over the vectors, chunk by chunk,
    writing the row-order codes and placing the list-order ones (:data:`PLACE_ROWS` rows at a time)."""
    started = time.perf_counter()
    total, dim = index.tokens.shape
    l2 = index.similarity == "l2"
    means = ivf.centroids.numpy()
    rng = np.random.default_rng(seed)
    if total <= SAMPLE_ROWS:
        starts = np.arange(0, max(total, 1), 256)
    else:
        starts = np.sort(rng.choice(total // 256, size=SAMPLE_ROWS // 256, replace=False)) * 256
    sample = [index.read_rows(lo, lo + 256) - means[np.asarray(ivf.codes[lo:lo + 256], dtype=np.int64)]
              for lo in starts.tolist()]
    codec = ResidualCodec.fit(np.concatenate(sample) if sample else np.zeros((1, dim), np.float32), nbits)
    width = codec.width(dim)
    with atomic_output(ivf.path / "residuals", directory=True) as tmp:
        rows = np.memmap(tmp / "rows.u8", dtype=np.uint8, mode="w+", shape=(max(total, 1), width))
        lists = np.memmap(tmp / "lists.u8", dtype=np.uint8, mode="w+", shape=(max(total, 1), width))
        norms = np.memmap(tmp / "norms.f16", dtype=np.float16, mode="w+", shape=(max(total, 1),)) if l2 else None
        # a list holds its centre's rows in row order (build_centroid_index), so the codes of rows taken in row
        # order go to the end of their centre's list so far: gathered PLACE_ROWS at a time, each centre's share
        # is one contiguous run of the list file (no random reads of the row-order file, few rewrites of a page)
        cursor = ivf.offsets[:-1].copy()
        held: list = []

        def place() -> None:
            centres = np.concatenate([c for c, _ in held])
            order = np.argsort(centres, kind="stable")
            sorted_c = centres[order]
            first = np.searchsorted(sorted_c, sorted_c, side="left")
            lists[cursor[sorted_c] + (np.arange(len(order)) - first)] = np.concatenate([e for _, e in held])[order]
            cursor[:] += np.bincount(centres, minlength=len(cursor))
            held.clear()

        for lo in range(0, total, chunk):
            vectors = index.read_rows(lo, lo + chunk)
            centres = np.asarray(ivf.codes[lo:lo + len(vectors)], dtype=np.int64)
            encoded = codec.encode(vectors - means[centres])
            rows[lo:lo + len(vectors)] = encoded
            held.append((centres, encoded))
            if sum(len(c) for c, _ in held) >= PLACE_ROWS or lo + chunk >= total:
                place()
            if norms is not None:
                norms[lo:lo + len(vectors)] = (vectors.astype(np.float64) ** 2).sum(1)
        for out in (rows, lists) + ((norms,) if norms is not None else ()):
            out.flush()
        del rows, lists, norms
        (tmp / "codec.json").write_text(json.dumps({
            **codec.to_json(), "tokens": int(total), "dim": int(dim), "sample_rows": int(sum(len(s) for s in sample)),
            "seed": seed, "seconds": round(time.perf_counter() - started, 1)}, indent=1))
    return Residuals(ivf.path / "residuals", total, dim)
