"""Encode with an exported ONNX model (``python -m pyserini_ckd.export --onnx DIR``): onnxruntime, numpy and the
``tokenizers`` library only; importing this module never imports torch.

    from pyserini_ckd.dense.onnx_encoder import OnnxEncoder
    encoder = OnnxEncoder("work/student")
    vectors = encoder.encode(["what raises blood pressure"], kind="query")   # float32 (n, d)

Same settings as :class:`~pyserini_ckd.dense.encoder.DenseEncoder`: prefixes and maximum lengths, mean or
[CLS] pooling, e / ||e||_2 when the folder says ``normalize``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

CONFIG_NAME = "pyserini_ckd.json"  # the same file as pyserini_ckd.dense.config.CONFIG_NAME, read without torch
ONNX_PATH = Path("onnx") / "model.onnx"


class OnnxEncoder:
    def __init__(self, model_dir: Union[str, Path], threads: Optional[int] = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir)
        graph = self.model_dir / ONNX_PATH
        if not graph.is_file():
            raise FileNotFoundError(f"{graph}: no ONNX export (python -m pyserini_ckd.export --onnx {self.model_dir})")
        self.config = json.loads((self.model_dir / CONFIG_NAME).read_text())
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        pad = self.tokenizer.token_to_id("[PAD]")
        self.pad_id = 0 if pad is None else pad

    def _ids(self, texts: Sequence[str], kind: str):
        prefix = self.config.get(f"{kind}_prefix", "")
        limit = int(self.config[f"{kind}_max_length"])
        encodings = self.tokenizer.encode_batch([f"{prefix}{t}" if prefix else t for t in texts])
        out = []
        for enc in encodings:
            ids = enc.ids
            if len(ids) > limit:  # keep [CLS] ... and the final [SEP], as transformers' truncation does
                ids = ids[:limit - 1] + ids[-1:]
            out.append(ids)
        return out

    def encode(self, texts: Sequence[str], kind: str = "passage", batch_size: int = 32) -> np.ndarray:
        """float32 (len(texts), dimension) embeddings, in input order (batches are length-sorted)."""
        if kind not in ("query", "passage"):
            raise ValueError(f"kind must be 'query' or 'passage', got {kind!r}")
        ids = self._ids(list(texts), kind)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out: Optional[np.ndarray] = None
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            width = max(len(ids[i]) for i in batch)
            input_ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                input_ids[row, :len(ids[i])] = ids[i]
                mask[row, :len(ids[i])] = 1
            feeds = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
            hidden = self.session.run(["last_hidden_state"], {k: v for k, v in feeds.items() if k in self.input_names})[0]
            emb = self._pool(hidden.astype(np.float32), mask)
            if out is None:
                out = np.zeros((len(ids), emb.shape[1]), dtype=np.float32)
            out[batch] = emb
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.config.get("pooling", "mean") == "cls":
            emb = hidden[:, 0]
        else:
            m = mask[..., None].astype(np.float32)
            emb = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        if self.config.get("normalize", True):
            emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        return emb.astype(np.float32)
