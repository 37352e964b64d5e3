"""Shared fixtures: a tiny BEIR-layout dataset written in the test, and a CLI runner."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, List

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DOCS = [
    ("d1", "Aspirin and the heart", "Aspirin lowers the risk of heart attack in adults."),
    ("d2", "Statins", "Statins reduce cholesterol and cardiovascular events."),
    ("d3", "Vitamin D", "Vitamin D deficiency is linked to bone fractures."),
    ("d4", "Sleep", "Short sleep raises blood pressure in young adults."),
    ("d5", "Coffee", "Coffee drinking is not linked to heart disease."),
    ("d6", "Exercise", "Regular exercise lowers blood pressure and heart rate."),
    ("d7", "Salt", "A diet high in salt raises blood pressure."),
    ("d8", "Bones", "Calcium and vitamin D supplements prevent fractures in the elderly."),
]
QUERIES = [
    ("q1", "does aspirin prevent heart attack"),
    ("q2", "what raises blood pressure"),
    ("q3", "vitamin D and fractures"),
    ("q4", "cholesterol lowering drugs"),
    ("q5", "coffee and the heart"),
]
QRELS = {"train": [("q1", "d1"), ("q2", "d7"), ("q2", "d4"), ("q4", "d2")], "test": [("q3", "d3"), ("q3", "d8"), ("q5", "d5")]}


def write_dataset(root: Path, docs=DOCS, queries=QUERIES, qrels=QRELS) -> Path:
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    with open(root / "corpus.jsonl", "w") as f:
        for docid, title, text in docs:
            f.write(json.dumps({"_id": docid, "title": title, "text": text, "metadata": {}}) + "\n")
    with open(root / "queries.jsonl", "w") as f:
        for qid, text in queries:
            f.write(json.dumps({"_id": qid, "text": text, "metadata": {}}) + "\n")
    for split, pairs in qrels.items():
        with open(root / "qrels" / f"{split}.tsv", "w") as f:
            f.write("query-id\tcorpus-id\tscore\n")
            for q, d in pairs:
                f.write(f"{q}\t{d}\t1\n")
    return root


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "tiny")


@pytest.fixture(scope="session")
def tiny_bm25_index(tmp_path_factory) -> Path:
    from pyserini_ckd.data.corpus import iter_corpus
    from pyserini_ckd.lucene.index import IndexConfig, build_bm25_index

    root = write_dataset(tmp_path_factory.mktemp("data") / "tiny")
    index = root.parent / "bm25-index"
    build_bm25_index(iter_corpus(root / "corpus.jsonl"), IndexConfig(index=index))
    return index


def run_cli_expect_error(main: Callable, argv: List[str], capsys) -> str:
    """Run a CLI's ``main(argv)`` expecting the one-line error contract; return that line."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, "no error message"
    return lines[-1]


def make_tiny_model(out_dir: Path, seed: int = 0, hidden: int = 32, pooling: str = "mean", normalize: bool = True,
                    dropout: float = 0.1) -> Path:
    """A 2-layer random BERT (hidden 32) with a WordPiece vocabulary of the tiny corpus, saved as a model dir."""
    import torch
    from transformers import BertModel

    from pyserini_ckd.dense import DenseEncoder, EncoderConfig

    tokenizer = tiny_tokenizer()
    torch.manual_seed(seed)
    model = DenseEncoder(BertModel(bert_config(len(tokenizer.get_vocab()), hidden, dropout)), tokenizer,
                         EncoderConfig(pooling=pooling, normalize=normalize, query_max_length=16, passage_max_length=48))
    model.save(out_dir)
    return out_dir


def tiny_tokenizer():
    import re

    from transformers import BertTokenizerFast

    words = sorted({w for _, t, x in DOCS for w in re.findall(r"\w+", f"{t} {x}".lower())}
                   | {w for _, q in QUERIES for w in re.findall(r"\w+", q.lower())})
    vocab = ["[PAD]", "[unused0]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "?"] + words
    import tempfile

    import transformers

    if int(transformers.__version__.split(".")[0]) >= 5:
        return BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    with tempfile.TemporaryDirectory() as tmp:  # transformers 4 (the [onnx] extra's) builds it from a file
        vocab_file = Path(tmp) / "vocab.txt"
        vocab_file.write_text("".join(w + "\n" for w in vocab))
        return BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True)


def bert_config(vocab_size, hidden=32, dropout=0.1):
    from transformers import BertConfig

    return BertConfig(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=37, max_position_embeddings=128,
                      hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)


def make_tiny_teacher(out_dir: Path, seed: int = 0, similarity: str = "l2") -> Path:
    """A late-interaction teacher on a random 2-layer BERT (dim 16, queries of 8, documents of 24 tokens)."""
    import torch
    from transformers import BertModel

    from pyserini_ckd.teacher.late_interaction import LateInteractionConfig, LateInteractionEncoder

    tokenizer = tiny_tokenizer()
    torch.manual_seed(seed)
    model = LateInteractionEncoder(BertModel(bert_config(len(tokenizer.get_vocab()))), tokenizer,
                                   LateInteractionConfig(dim=16, query_maxlen=8, doc_maxlen=24, similarity=similarity))
    model.save(out_dir)
    return out_dir


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("models") / "tiny-ckd-model")


def write_negatives(path: Path, qrels=QRELS["train"]) -> Path:
    """A negatives file for the tiny train split: every other document, in corpus order."""
    positives = {}
    for q, d in qrels:
        positives.setdefault(q, []).append(d)
    with open(path, "w") as f:
        for q, pos in positives.items():
            negs = [{"docid": d, "score": 1.0, "rank": r} for r, (d, _, _) in enumerate(DOCS, 1) if d not in pos]
            f.write(json.dumps({"qid": q, "positives": pos, "negatives": negs}) + "\n")
    return path


def assert_clean_failure(main, argv, capsys, expected: str, outputs=()) -> str:
    """The robustness contract: exit code 2, one line naming the problem, no traceback, and nothing
    written where the outputs should go (no temporary left beside them either)."""
    line = run_cli_expect_error(main, [str(a) for a in argv], capsys)
    assert expected in line, line
    for out in outputs:
        out = Path(out)
        assert not out.exists(), f"{out} was written"
        if out.parent.is_dir():
            assert not list(out.parent.glob(f".{out.name}.tmp-*")), "a temporary was left behind"
    return line


def not_writable(tmp_path: Path) -> Path:
    """An output path whose folder cannot be created (its parent is a file; root ignores permissions)."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    return blocker / "out"
