"""A full disk: every CLI that writes stops with one line naming the cause, exit code 1 (the input was fine),
and leaves nothing behind. The disk is a small tmpfs filled to the brim (needs root; skipped elsewhere)."""

from __future__ import annotations

import errno
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import write_negatives


@pytest.fixture(scope="module")
def full_disk(tmp_path_factory):
    mount = tmp_path_factory.mktemp("full") / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()[:80]}")
    try:
        with open(mount / "filler", "wb", buffering=0) as f:  # unbuffered: the failing write is the last
            try:
                while True:
                    f.write(b"x" * 512)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _expect_full(main, argv, capsys, disk):
    before = set(os.listdir(disk))
    with pytest.raises(SystemExit, match="1") as info:
        main([str(a) for a in argv])
        pytest.fail(f"{main.__module__} wrote to a full disk without an error")
    assert info.value.code == 1
    stderr = capsys.readouterr().err
    err = [line for line in stderr.splitlines() if ": error: " in line]  # progress bars and Java's log share stderr
    assert len(err) == 1 and "No space left on device" in err[0] and "Traceback" not in stderr, err
    assert set(os.listdir(disk)) == before  # nothing half-written, no temporary left


def test_every_writing_cli_on_a_full_disk(full_disk, tiny_dataset, tiny_model, tiny_bm25_index, tmp_path, capsys):
    from pyserini_ckd import encode, evaluate, index, interpolate, label, negatives, search, topics, train

    out = full_disk / uuid.uuid4().hex[:6]
    neg = write_negatives(tmp_path / "neg.jsonl")
    run = tmp_path / "run.trec"
    search.main(["--dataset", str(tiny_dataset), "--bm25", str(tiny_bm25_index), "--output", str(run)])
    cases = [
        (index.main, ["--dataset", tiny_dataset, "--index", out]),
        (encode.main, ["input", "--corpus", tiny_dataset, "output", "--embeddings", out, "encoder", "--encoder", tiny_model, "--fp32"]),
        (search.main, ["--dataset", tiny_dataset, "--bm25", tiny_bm25_index, "--output", out]),
        (negatives.main, ["--dataset", tiny_dataset, "--split", "train", "--bm25", tiny_bm25_index, "--output", out]),
        (train.main, ["--dataset", tiny_dataset, "--negatives", neg, "--init", tiny_model, "--output", out,
                      "--steps", "1", "--group-size", "2", "--batch-size", "1"]),
        (label.main, ["--dataset", tiny_dataset, "--labeler", "hard", "--negatives", neg, "--output", out]),
        (evaluate.main, ["--qrels", f"{tiny_dataset}:test", str(run), "--json", out]),
        (topics.main, ["--dataset", tiny_dataset, "--split", "test", "--output", out]),
        (interpolate.main, ["--start", tiny_model, "--model", tiny_model, "--output", out, "--lambda", "0.5"]),
    ]
    for main, argv in cases:
        _expect_full(main, argv, capsys, full_disk)
