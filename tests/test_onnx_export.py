"""ONNX export: onnxruntime gives the torch encoder's vectors, and the ONNX encoder runs without torch."""

import shutil
import subprocess
import sys

import numpy as np

from pyserini_ckd import export as export_cli
from pyserini_ckd.dense import DenseEncoder

from conftest import DOCS, QUERIES


def test_onnx_export_matches_torch_and_runs_without_torch(tiny_model, tmp_path, capsys):
    model = tmp_path / "student"
    shutil.copytree(tiny_model, model)
    export_cli.main(["--onnx", str(model)])
    assert "smallest cosine to the torch encoder" in capsys.readouterr().out
    assert (model / "onnx" / "model.onnx").is_file()
    from pyserini_ckd.dense.onnx_encoder import OnnxEncoder

    texts = [f"{t} {x}" for _, t, x in DOCS] + [" ".join(x for _, _, x in DOCS)]  # the last one is cut at 48 tokens
    for kind, batch in (("passage", texts), ("query", [q for _, q in QUERIES] + texts[-1:])):
        ours = DenseEncoder.load(model).encode(batch, kind=kind, precision="fp32")
        onnx = OnnxEncoder(model).encode(batch, kind=kind, batch_size=3)
        cos = (ours * onnx).sum(1)
        assert cos.min() >= 0.9999, cos
    script = ("import sys; sys.modules['torch'] = None\n"  # any import of torch now fails
              "from pyserini_ckd.dense.onnx_encoder import OnnxEncoder\n"
              f"v = OnnxEncoder({str(model)!r}).encode(['vitamin D and fractures'], kind='query')\n"
              "print(v.shape, round(float((v * v).sum()), 4))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "(1, 32) 1.0"
    expected = DenseEncoder.load(model).encode(["vitamin D and fractures"], kind="query", precision="fp32")
    np.testing.assert_allclose(OnnxEncoder(model).encode(["vitamin D and fractures"], kind="query"), expected, atol=1e-4)


def test_sentence_transformers_loads_the_export_with_the_onnx_backend(tiny_model, tmp_path):
    """sentence-transformers' backend="onnx" needs optimum's onnxruntime module (the ``[onnx]`` extra, which
    resolves transformers < 4.58): ``make test-onnx`` runs this test in a virtual environment that has it."""
    import importlib.util

    if importlib.util.find_spec("optimum") is None or importlib.util.find_spec("optimum.onnxruntime") is None:
        import pytest

        pytest.skip("needs the [onnx] extra (optimum-onnx); make test-onnx runs it")
    from sentence_transformers import SentenceTransformer

    model = tmp_path / "student"
    shutil.copytree(tiny_model, model)
    export_cli.main(["--onnx", str(model)])
    texts = [f"{t} {x}" for _, t, x in DOCS]
    onnx = SentenceTransformer(str(model), backend="onnx", device="cpu").encode(texts)
    torch_vectors = SentenceTransformer(str(model), device="cpu").encode(texts)
    assert ((onnx * torch_vectors).sum(1)).min() >= 0.9999
