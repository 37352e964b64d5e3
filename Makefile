# Two commands for a newcomer: `make demo` (the main job on SciFact) and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SHARED_DATA := $(abspath ../shared/data)
export PYSERINI_CKD_DATA ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
WORK ?= work

.PHONY: setup demo demo-bm25 test test-onnx clean

setup: $(STAMP)

# torch 2.13.0 first: its CPU wheel lies on this disk; an open range would pull a CUDA build of several GB.
$(STAMP): setup.cfg pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "torch==2.13.0"
	$(PY) -m pip install -q --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

# The quick profile of the whole experiment on SciFact (about 10 minutes on 2 CPU cores; see the README).
demo: setup
	$(PY) -m pyserini_ckd.pipeline --dataset scifact --workdir $(WORK)/scifact-quick --profile quick

# BM25 alone on SciFact test (a minute).
demo-bm25: setup
	$(PY) -m pyserini_ckd.index --dataset scifact --index $(WORK)/scifact/bm25-index
	$(PY) -m pyserini_ckd.search --dataset scifact --split test --bm25 $(WORK)/scifact/bm25-index --output $(WORK)/scifact/runs/bm25.scifact.test.trec
	$(PY) -m pyserini_ckd.evaluate --qrels scifact:test $(WORK)/scifact/runs/bm25.scifact.test.trec

test: setup
	$(PY) -m pytest -q

# sentence-transformers' ONNX backend needs the [onnx] extra (optimum-onnx, which resolves transformers < 4.58):
# its own environment, so the main one keeps transformers 5. Runs the ONNX tests there.
ONNX_VENV := .venv-onnx
$(ONNX_VENV)/.installed: setup.cfg pyproject.toml
	test -x $(ONNX_VENV)/bin/python || $(PYTHON) -m venv $(ONNX_VENV)
	$(ONNX_VENV)/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0"
	$(ONNX_VENV)/bin/python -m pip install -q --disable-pip-version-check -e ".[test,onnx]"
	touch $@

test-onnx: $(ONNX_VENV)/.installed
	$(ONNX_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/test_onnx_export.py

clean:
	rm -rf $(WORK)
