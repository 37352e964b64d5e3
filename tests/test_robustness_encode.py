"""Robustness of ``python -m pyserini_ckd.encode``: bad corpora, settings, models and outputs; kill -9."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyserini_ckd import encode as cli

from conftest import DOCS, assert_clean_failure, not_writable


def _argv(corpus, out, model, *extra):
    return ["input", "--corpus", corpus, "output", "--embeddings", out, "encoder", "--encoder", model, *extra]


@pytest.mark.parametrize("content, expected", [
    (b'{"_id": "a", "text": "x"}\n{"_id": "b", "text": \n', "corpus.jsonl:2: malformed JSON"),
    (b'{"_id": "a", "text": "x"}\n{"text": "y"}\n', "corpus.jsonl:2: missing field '_id'"),
    (b'{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n', "corpus.jsonl:2: duplicate document id 'a'"),
    (b'{"_id": "a", "text": "\xc3("}\n', "corpus.jsonl:1: not valid UTF-8"),
    (b"\n\n", "corpus.jsonl: empty corpus"),
])
def test_bad_corpus(tiny_model, tmp_path, capsys, content, expected):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_bytes(content)
    out = tmp_path / "emb"
    assert_clean_failure(cli.main, _argv(corpus, out, tiny_model), capsys, expected, [out])


def test_bad_settings_models_outputs(tiny_dataset, tiny_model, tmp_path, capsys):
    out = tmp_path / "emb"
    corpus = tiny_dataset / "corpus.jsonl"
    for extra, expected in [(["--batch-size", "0"], "must be a positive integer"), (["--batch-size", "-4"], "must be a positive integer"),
                            (["--max-length", "0"], "must be a positive integer")]:
        assert_clean_failure(cli.main, _argv(corpus, out, tiny_model, *extra), capsys, expected, [out])
    (tmp_path / "no-config").mkdir()
    assert_clean_failure(cli.main, _argv(corpus, out, tmp_path / "no-config"), capsys, "model directory without its config.json", [out])
    blocked = not_writable(tmp_path)
    assert_clean_failure(cli.main, _argv(corpus, blocked, tiny_model), capsys, "cannot create folder", [blocked])
    assert_clean_failure(cli.main, ["input", "--corpus", corpus, "encoder", "--encoder", tiny_model], capsys, "missing section(s): output")


SLOW_CLI = str(Path(__file__).resolve().parent / "slow_cli.py")


def slowed(target: str, cli: str, argv, seconds: float = 0.5) -> list:
    """The command line of ``python -m cli argv`` with ``target`` (MODULE:ATTR) sleeping ``seconds`` after each call."""
    return [sys.executable, SLOW_CLI, target, str(seconds), cli, *map(str, argv)]


def kill_mid_run(cmd, marker: str, after: float = 0.7) -> None:
    """Start ``cmd`` (slowed down: :func:`slowed`), wait until ``marker`` shows on its stderr, then kill -9 it."""
    import threading

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = threading.Event()

    def watch():
        buf = b""
        while chunk := proc.stderr.read(64):
            buf = (buf + chunk)[-4096:]
            if marker.encode() in buf:
                seen.set()

    threading.Thread(target=watch, daemon=True).start()
    assert seen.wait(180), f"{marker!r} never appeared"
    time.sleep(after)
    assert proc.poll() is None, "finished before the kill"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_kill_during_encode_then_rerun(tiny_dataset, tiny_model, tmp_path):
    import faiss
    import numpy as np

    corpus = tiny_dataset / "corpus.jsonl"
    argv = ["input", "--corpus", str(corpus), "--chunk-size", "2", "output", "--embeddings", "OUT",
            "encoder", "--encoder", str(tiny_model), "--fp32"]
    full, out = tmp_path / "full", tmp_path / "killed"
    cli.main([str(full) if a == "OUT" else a for a in argv])
    kill_mid_run(slowed("pyserini_ckd.dense.encoder:DenseEncoder.encode", "pyserini_ckd.encode",
                        [str(out) if a == "OUT" else a for a in argv]), "encode:")
    assert not out.exists()
    cli.main([str(out) if a == "OUT" else a for a in argv])
    assert (out / "docid").read_text() == (full / "docid").read_text()
    a, b = faiss.read_index(str(out / "index")), faiss.read_index(str(full / "index"))
    np.testing.assert_allclose(a.reconstruct_n(0, len(DOCS)), b.reconstruct_n(0, len(DOCS)), atol=1e-6)


def test_dead_writers_temporaries_are_removed(tiny_dataset, tiny_model, tmp_path):
    stale = tmp_path / ".emb.tmp-999999999-deadbeef"  # no such process
    stale.mkdir()
    (stale / "index").write_bytes(b"half")
    cli.main([str(a) for a in _argv(tiny_dataset / "corpus.jsonl", tmp_path / "emb", tiny_model)])
    assert not stale.exists() and (tmp_path / "emb" / "index").is_file()
