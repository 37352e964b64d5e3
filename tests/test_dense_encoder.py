"""The dense encoder: math, batching, and the saved directory loading in transformers,
sentence-transformers and Pyserini's own encoders."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from pyserini_ckd.dense import DenseEncoder
from pyserini_ckd.dense.batching import token_budget_batches
from pyserini_ckd.dense.models import resolve_model
from pyserini_ckd.errors import ConfigError, InputError

from conftest import DOCS, QUERIES, make_tiny_model

PASSAGES = [f"{t} {x}" for _, t, x in DOCS]
QUERY_TEXTS = [q for _, q in QUERIES]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=0, max_size=60), st.integers(1, 2000), st.integers(1, 16))
def test_token_budget_batches_cover_each_index_once(lengths, budget, max_batch):
    batches = list(token_budget_batches(lengths, budget, max_batch))
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= max_batch
        assert len(b) == 1 or max(max(1, lengths[i]) for i in b) * len(b) <= budget


def test_encode_equals_one_by_one_and_is_normalised(tiny_model):
    model = DenseEncoder.load(tiny_model)
    batched = model.encode(PASSAGES, batch_size=3)
    single = np.vstack([model.encode([p]) for p in PASSAGES])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_auto_precision_stays_close_to_fp32(tiny_model):
    model = DenseEncoder.load(tiny_model)
    auto, fp32 = model.encode(PASSAGES), model.encode(PASSAGES, precision="fp32")
    assert (auto * fp32).sum(1).min() > 0.999
    np.testing.assert_array_equal(model.encode(QUERY_TEXTS, kind="query"), model.encode(QUERY_TEXTS, kind="query", precision="fp32"))


def test_mean_pooling_ignores_padding(tiny_model):
    model = DenseEncoder.load(tiny_model)
    ids = model.tokenize(["aspirin", "aspirin lowers the risk of heart attack"], "passage")
    inputs = model.pad(ids)
    with torch.no_grad():
        padded = model.embed(**inputs)[0]
        alone = model.embed(**model.pad(ids[:1]))[0]
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=1e-5)


def test_sentence_transformers_loads_the_directory(tiny_model):
    from sentence_transformers import SentenceTransformer

    ours = DenseEncoder.load(tiny_model).encode(PASSAGES, precision="fp32")
    st_model = SentenceTransformer(str(tiny_model), device="cpu")
    theirs = st_model.encode(PASSAGES, convert_to_numpy=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_transformers_loads_the_directory(tiny_model):
    from transformers import AutoModel, AutoTokenizer

    assert AutoModel.from_pretrained(str(tiny_model)).config.hidden_size == 32
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    ids = tokenizer("Aspirin lowers")["input_ids"]
    assert ids[0] == tokenizer.cls_token_id and tokenizer.unk_token_id not in ids  # the vocabulary round-trips


def test_pyserini_auto_encoders_agree(tiny_model):
    from pyserini.encode import AutoDocumentEncoder, AutoQueryEncoder

    model = DenseEncoder.load(tiny_model)
    docs = AutoDocumentEncoder(str(tiny_model), device="cpu", pooling="mean", l2_norm=True)
    with torch.no_grad():
        theirs = docs.encode(PASSAGES, max_length=48)
    np.testing.assert_allclose(model.encode(PASSAGES, precision="fp32"), theirs, atol=1e-5)
    queries = AutoQueryEncoder(str(tiny_model), device="cpu", pooling="mean", l2_norm=True)
    np.testing.assert_allclose(model.encode(QUERY_TEXTS[:1], kind="query")[0], queries.encode(QUERY_TEXTS[0]), atol=1e-5)


def test_ckd_encoders_registered_in_pyserini(tiny_model):
    import pyserini.encode as pe
    from pyserini.search.faiss.__main__ import init_query_encoder

    from pyserini_ckd.dense.pyserini_encoders import CkdDocumentEncoder, CkdQueryEncoder

    assert pe.document_encoder_class_map["ckd"] is CkdDocumentEncoder
    assert pe.query_encoder_class_map["ckd"] is CkdQueryEncoder
    encoder = init_query_encoder(str(tiny_model), None, None, None, None, "cpu", None, "cls", False, None)
    assert isinstance(encoder, CkdQueryEncoder)  # chosen from 'ckd' in the path; pooling read from the model
    assert encoder.model.config.pooling == "mean"
    batch = encoder.encode_batch(QUERY_TEXTS)
    np.testing.assert_allclose(batch[1], encoder.encode(QUERY_TEXTS[1]), atol=1e-6)


def test_minilm_alias_and_bad_model_dirs(tmp_path):
    assert (resolve_model("minilm") / "model.safetensors").is_file()
    with pytest.raises(InputError, match="no such model directory"):
        resolve_model(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="model directory without its config.json"):
        resolve_model(tmp_path / "empty")


def test_cls_pooling_without_normalisation_round_trips(tmp_path):
    path = make_tiny_model(tmp_path / "cls-model", pooling="cls", normalize=False)
    model = DenseEncoder.load(path)
    assert (model.config.pooling, model.config.normalize) == ("cls", False)
    from sentence_transformers import SentenceTransformer

    np.testing.assert_allclose(model.encode(PASSAGES[:3], precision="fp32"), SentenceTransformer(str(path), device="cpu").encode(PASSAGES[:3]), atol=1e-5)
    with pytest.raises(ConfigError, match="pooling must be one of"):
        DenseEncoder.load(path, pooling="max")
