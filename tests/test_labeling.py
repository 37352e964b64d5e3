"""The label generator end to end on a tiny corpus: teachers trained by the shared trainer, every labeler,
determinism, inspection, and labels feeding the distillation trainer."""

import json

import pytest

from pyserini_ckd import inspect_labels as inspect_cli
from pyserini_ckd import label as label_cli
from pyserini_ckd import search as search_cli
from pyserini_ckd import train as train_cli
from pyserini_ckd.data.runs import read_run

from conftest import make_tiny_teacher, run_cli_expect_error, write_negatives


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from conftest import write_dataset

    root = tmp_path_factory.mktemp("label")
    data = write_dataset(root / "tiny")
    neg = write_negatives(root / "neg.jsonl")
    li = make_tiny_teacher(root / "li-init")
    return root, data, neg, li


def _label(setup, labeler, out, extra=()):
    root, data, neg, li = setup
    label_cli.main(["--dataset", str(data), "--labeler", labeler, "--negatives", str(neg), "--output", str(out),
                    "--bm25-negatives", "3", "--teacher-negatives", "2", "--teacher-depth", "5",
                    "--fb-docs", "2", "--fb-clusters", "4", "--fb-k", "2", *extra])
    return [json.loads(l) for l in out.read_text().splitlines()], json.loads(out.with_name(out.name + ".meta.json").read_text())


def test_teacher_trains_with_the_shared_loop(setup, tmp_path):
    root, data, neg, li = setup
    out = tmp_path / "li-trained"
    train_cli.main(["--dataset", str(data), "--negatives", str(neg), "--model", "late-interaction", "--init", str(li),
                    "--output", str(out), "--group-size", "3", "--batch-size", "2", "--steps", "3"])
    summary = json.loads((out / "train_config.json").read_text())
    assert summary["train_seconds"] > 0 and summary["config"]["student_temperature"] == 1.0
    records, meta = _label(setup, "collective", tmp_path / "c.jsonl", ["--teacher", str(out)])
    assert meta["seconds"]["teacher_training"] == pytest.approx(summary["train_seconds"], abs=0.01)


def test_collective_and_teacher_labels(setup, tmp_path):
    root, data, neg, li = setup
    records, meta = _label(setup, "collective", tmp_path / "collective.jsonl", ["--teacher", str(li), "--run", str(tmp_path / "c.trec")])
    assert [r["qid"] for r in records] == ["q1", "q2", "q4"]
    q2 = records[1]
    docids = [c["docid"] for c in q2["candidates"]]
    assert len(docids) == len(set(docids))
    assert set(q2["positives"]) == {"d7", "d4"} and set(q2["positives"]) <= set(docids)
    assert all("positive" in c["sources"] for c in q2["candidates"] if c["docid"] in q2["positives"])
    assert {s for c in q2["candidates"] for s in c["sources"]} >= {"bm25", "teacher"}
    assert all(0 < e["weight"] for e in q2["expansion"]) and 0 < len(q2["expansion"]) <= 2
    assert meta["labeler"] == "collective" and meta["teacher_kind"] == "late-interaction"
    assert set(meta["seconds"]) == {"teacher_training", "index", "prf", "scoring"} and meta["teacher_cost_seconds"] > 0
    assert set(read_run(tmp_path / "c.trec")) == {"q1", "q2", "q4"}
    # ranking only the held-out queries (q1 at 0.3): the same labels, the run holds q1 alone
    held, _ = _label(setup, "collective", tmp_path / "held.jsonl", ["--teacher", str(li), "--run", str(tmp_path / "h.trec"),
                                                                   "--ranked", "held-out", "--holdout-fraction", "0.3"])
    assert held == records and set(read_run(tmp_path / "h.trec")) == {"q1"}
    assert read_run(tmp_path / "h.trec")["q1"] == read_run(tmp_path / "c.trec")["q1"]
    plain, meta = _label(setup, "teacher", tmp_path / "teacher.jsonl", ["--teacher", str(li)])
    assert all(r["expansion"] == [] for r in plain) and meta["seconds"]["prf"] == 0
    # the plain teacher ranks every query anyway (its negatives); --ranked held-out still limits its run to q1
    _label(setup, "teacher", tmp_path / "teacher-held.jsonl", ["--teacher", str(li), "--run", str(tmp_path / "th.trec"),
                                                               "--ranked", "held-out", "--holdout-fraction", "0.3"])
    assert set(read_run(tmp_path / "th.trec")) == {"q1"}
    # expansion changes the scores
    a = {c["docid"]: c["score"] for c in records[0]["candidates"]}
    b = {c["docid"]: c["score"] for c in plain[0]["candidates"]}
    assert any(a[d] != b[d] for d in a.keys() & b.keys())


def test_prepared_queries_label_as_one_at_a_time(setup, tmp_path, monkeypatch):
    """The job lets the teacher encode, rank and expand a chunk of queries together (one pass over the index);
    the labels, the held-out query's expanded ranking and the stage seconds' keys are those of labelling one
    query at a time, whatever the chunk size."""
    from pyserini_ckd.labeling import job

    root, data, neg, li = setup
    extra = ["--teacher", str(li), "--ranked", "held-out", "--holdout-fraction", "0.3"]
    together, meta = _label(setup, "collective", tmp_path / "together.jsonl", [*extra, "--run", str(tmp_path / "t.trec")])
    monkeypatch.setattr(job, "PREPARED_QUERIES", 2)
    split, _ = _label(setup, "collective", tmp_path / "split.jsonl", [*extra, "--run", str(tmp_path / "s.trec")])
    monkeypatch.setattr(job, "prepare_queries", lambda *args: {})
    alone, alone_meta = _label(setup, "collective", tmp_path / "alone.jsonl", [*extra, "--run", str(tmp_path / "a.trec")])
    assert together == split == alone and any(r["expansion"] for r in alone)
    assert read_run(tmp_path / "t.trec") == read_run(tmp_path / "s.trec") == read_run(tmp_path / "a.trec")
    assert set(meta["seconds"]) == set(alone_meta["seconds"])


def test_same_seed_same_labels(setup, tmp_path):
    root, data, neg, li = setup
    _label(setup, "collective", tmp_path / "a.jsonl", ["--teacher", str(li)])
    _label(setup, "collective", tmp_path / "b.jsonl", ["--teacher", str(li), "--index", str(tmp_path / "other-index")])
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_uniform_and_hard(setup, tmp_path):
    uniform, _ = _label(setup, "uniform", tmp_path / "u.jsonl", ["--epsilon", "0.2"])
    scores = {c["docid"]: c["score"] for c in uniform[0]["candidates"]}
    assert scores["d1"] == pytest.approx(0.8) and sum(scores.values()) == pytest.approx(1.0)
    hard, _ = _label(setup, "hard", tmp_path / "h.jsonl")
    assert sum(c["score"] for c in hard[1]["candidates"]) == pytest.approx(1.0)
    assert {c["docid"] for c in hard[1]["candidates"] if c["score"] > 0} == {"d7", "d4"}


def test_dense_teacher_with_rocchio(setup, tiny_model, tmp_path):
    records, meta = _label(setup, "collective", tmp_path / "dense.jsonl", ["--teacher", str(tiny_model), "--warm-start", str(tiny_model)])
    assert meta["teacher_kind"] == "dense" and meta["seconds"]["teacher_training"] == 0
    assert records[0]["expansion"] == []  # Rocchio moves the vector; there are no tokens to show


def test_cross_encoder_labeler(setup, tmp_path):
    root, data, neg, li = setup
    ce = tmp_path / "ce"
    from conftest import tiny_tokenizer  # noqa: F401  (the cross-encoder is built on the tiny model's backbone)

    train_cli.main(["--dataset", str(data), "--negatives", str(neg), "--model", "cross-encoder", "--init", str(setup[3]),
                    "--output", str(ce), "--group-size", "3", "--batch-size", "2", "--steps", "2"])
    bm25_run = tmp_path / "bm25.trec"
    bm25_run.write_text("".join(f"{q} Q0 d{i} {i} {10 - i}.0 bm25\n" for q in ("q1", "q2", "q4") for i in range(1, 9)))
    records, meta = _label(setup, "cross-encoder", tmp_path / "ce.jsonl", ["--teacher", str(ce), "--bm25-run", str(bm25_run)])
    assert meta["teacher_kind"] == "cross-encoder" and len(records) == 3
    assert all(isinstance(c["score"], float) for c in records[0]["candidates"])


def test_labels_feed_the_kd_trainer(setup, tiny_model, tmp_path):
    root, data, neg, li = setup
    _label(setup, "collective", tmp_path / "labels.jsonl", ["--teacher", str(li)])
    out = tmp_path / "student"
    train_cli.main(["--dataset", str(data), "--labels", str(tmp_path / "labels.jsonl"), "--init", str(tiny_model),
                    "--output", str(out), "--group-size", "3", "--batch-size", "2", "--steps", "2"])
    assert json.loads((out / "train_config.json").read_text())["config"]["loss"] == "kd"
    # the generated model card parses with huggingface_hub's own parser and says how the model was trained
    from huggingface_hub import ModelCard

    from pyserini_ckd.training.model_card import write_model_card

    card = ModelCard.load(out / "README.md")
    assert card.data.base_model == str(tiny_model) and card.data.library_name == "sentence-transformers"
    assert card.data.datasets == ["tiny"] and "knowledge-distillation" in card.data.tags
    assert "| labeler | collective |" in card.text and "| temperature (teacher softmax) | 0.25 |" in card.text
    assert "| teacher cost (s) |" in card.text and "| steps | 2 |" in card.text
    write_model_card(out, "dense", str(data), evaluation={"tiny.test": {"nDCG@10": 0.5}, "cranfield.test": {"nDCG@10": 0.25}})
    reloaded = ModelCard.load(out / "README.md")
    assert "on tiny's `train` queries" in reloaded.text  # the evaluation's views do not replace the training split
    results = reloaded.data.eval_results
    assert [(r.dataset_name, r.dataset_split, r.metric_type, r.metric_value) for r in results] == [
        ("tiny", "test", "ndcg_at_10", 0.5), ("cranfield", "test", "ndcg_at_10", 0.25)]


def test_inspect(setup, tmp_path, capsys):
    root, data, neg, li = setup
    _label(setup, "collective", tmp_path / "l.jsonl", ["--teacher", str(li)])
    capsys.readouterr()
    inspect_cli.main(["--labels", str(tmp_path / "l.jsonl"), "--dataset", str(data), "--qid", "q2", "--top", "4"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "query q2: what raises blood pressure"
    assert out[1].startswith("expansion: ")
    assert sum(" POS " in line for line in out[2:]) >= 1 and len(out) == 6


def test_label_errors(setup, tmp_path, capsys):
    root, data, neg, li = setup
    base = ["--dataset", str(data), "--negatives", str(neg), "--output", str(tmp_path / "x.jsonl")]
    assert "needs --teacher" in run_cli_expect_error(label_cli.main, base + ["--labeler", "collective"], capsys)
    line = run_cli_expect_error(label_cli.main, base + ["--labeler", "hard", "--run", str(tmp_path / "r.trec"), "--ranked", "held-out"], capsys)
    assert "--ranked held-out needs --holdout-fraction" in line
    line = run_cli_expect_error(label_cli.main, base + ["--labeler", "cross-encoder", "--teacher", str(li)], capsys)
    assert "is not a cross-encoder" in line
    bad = tmp_path / "neg.jsonl"
    bad.write_text('{"qid": "q1", "positives": ["d1"], "negatives": [{"docid": "zz", "score": 1, "rank": 1}]}\n')
    line = run_cli_expect_error(label_cli.main, base[:2] + ["--negatives", str(bad)] + base[4:] + ["--labeler", "hard"], capsys)
    assert f"{bad}:1: unknown document id 'zz'" in line
    assert not (tmp_path / "x.jsonl").exists()


def test_approximate_teacher_search_over_every_centre_and_document_equals_exact(setup, tmp_path):
    root, data, neg, li = setup
    _label(setup, "teacher", tmp_path / "exact.jsonl", ["--teacher", str(li), "--index", str(tmp_path / "idx")])
    _label(setup, "teacher", tmp_path / "ann.jsonl", ["--teacher", str(li), "--index", str(tmp_path / "idx"), "--first-stage", "approximate",
                                                         "--ncells", "100000", "--ndocs", "100000", "--nexact", "100000"])
    assert (tmp_path / "idx" / "ivf" / "ivf.json").is_file()
    exact = [json.loads(l) for l in (tmp_path / "exact.jsonl").read_text().splitlines()]
    ann = [json.loads(l) for l in (tmp_path / "ann.jsonl").read_text().splitlines()]
    assert [[c["docid"] for c in r["candidates"]] for r in ann] == [[c["docid"] for c in r["candidates"]] for r in exact]


def _recording_lookups(monkeypatch) -> list:
    """Returns the list into which each PRF look-up through the lists records its (cells, codes)."""
    from pyserini_ckd.teacher.centroid_index import CentroidIndex

    asked, real = [], CentroidIndex.nearest_tokens

    def recorded(self, vectors, k, tokens, cells, codes=False):
        asked.append((cells, codes))
        return real(self, vectors, k, tokens, cells, codes)

    monkeypatch.setattr(CentroidIndex, "nearest_tokens", recorded)
    return asked


def test_streamed_prf_looks_up_the_lists_asked_for(setup, tmp_path, monkeypatch):
    """Streamed, PRF's nearest tokens come from each centroid's --prf-cells best lists; probing every list
    gives the in-memory (exact) labels and expansions."""
    root, data, neg, li = setup
    exact, _ = _label(setup, "collective", tmp_path / "exact.jsonl", ["--teacher", str(li), "--index", str(tmp_path / "idx")])
    asked = _recording_lookups(monkeypatch)
    streamed, _ = _label(setup, "collective", tmp_path / "streamed.jsonl", [
        "--teacher", str(li), "--index", str(tmp_path / "idx"), "--first-stage", "approximate", "--in-memory-tokens", "0",
        "--ncells", "100000", "--ndocs", "100000", "--nexact", "100000", "--prf-cells", "100000", "--prf-from", "vectors"])
    assert asked and set(asked) == {(100000, False)}
    assert [(r["qid"], [c["docid"] for c in r["candidates"]], r["expansion"]) for r in streamed] == \
        [(r["qid"], [c["docid"] for c in r["candidates"]], r["expansion"]) for r in exact]


def test_streamed_labels_through_residual_codes(setup, tmp_path, monkeypatch):
    """--ndecompress and PRF from the codes (the default --prf-from): the residual codes are built once with --residual-bits (index seconds), the
    decompression stage and PRF's look-up go through them; keeping every document and probing every list at 8
    bits, the candidates of the first ranking and most expansions are the exact ones."""
    from pyserini_ckd.teacher.residuals import Residuals

    root, data, neg, li = setup
    exact, exact_meta = _label(setup, "collective", tmp_path / "exact.jsonl", ["--teacher", str(li), "--index", str(tmp_path / "idx")])
    asked = _recording_lookups(monkeypatch)
    coded, meta = _label(setup, "collective", tmp_path / "coded.jsonl", [
        "--teacher", str(li), "--index", str(tmp_path / "idx"), "--first-stage", "approximate", "--ncells", "100000",
        "--in-memory-tokens", "0", "--ndocs", "100000", "--nexact", "100000", "--ndecompress", "100000", "--prf-cells", "100000",
        "--residual-bits", "8"])  # PRF from the codes: the default
    assert asked and {codes for _, codes in asked} == {True}
    assert exact_meta["first_stage"] == "exact"
    assert {k: meta["first_stage"][k] for k in ("ncells", "ndocs", "nexact", "ndecompress", "residual_bits")} == \
        {"ncells": 100000, "ndocs": 100000, "nexact": 100000, "ndecompress": 100000, "residual_bits": 8}
    assert Residuals.exists(tmp_path / "idx" / "ivf")
    assert json.loads((tmp_path / "idx" / "ivf" / "residuals" / "codec.json").read_text())["nbits"] == 8
    assert [r["qid"] for r in coded] == [r["qid"] for r in exact]
    same = [a["expansion"] == b["expansion"] for a, b in zip(coded, exact)]
    assert sum(same) >= 0.7 * len(same)
    for a, b in zip(coded, exact):  # an unchanged expansion: the same candidates, every document kept
        if a["expansion"] == b["expansion"]:
            assert [c["docid"] for c in a["candidates"]] == [c["docid"] for c in b["candidates"]]


def test_cross_encoder_pooling(tiny_model, tmp_path):
    """Mean pooling ignores padding (a pair scores the same alone and beside a longer one); a folder saved
    before the pooling option existed loads as [CLS] pooling; an unknown pooling is a one-line error."""
    import torch

    from pyserini_ckd.errors import ConfigError
    from pyserini_ckd.teacher.cross_encoder import CONFIG_NAME, CrossEncoder

    torch.manual_seed(0)
    ce = CrossEncoder.build(tiny_model, max_length=48).eval()
    assert ce.pooling == "mean"
    short, long = "blood pressure", "salt intake raises blood pressure in adults and in children"
    alone = ce.score("what raises blood pressure", [short])[0]
    beside = ce.score("what raises blood pressure", [short, long])[0]
    assert alone == pytest.approx(beside, abs=1e-5)
    # length-sorted batches: each score is its own passage's, in the passages' order
    passages = [short, long, "salt", long + " " + long, "pressure in adults", short + " " + long]
    one_by_one = [ce.score("what raises blood pressure", [p])[0] for p in passages]
    assert ce.score("what raises blood pressure", passages, batch_size=2) == pytest.approx(one_by_one, abs=1e-5)
    ce.save(tmp_path / "ce")
    assert CrossEncoder.load(tmp_path / "ce").score("what raises blood pressure", [short])[0] == pytest.approx(alone, abs=1e-5)
    config = tmp_path / "ce" / CONFIG_NAME
    config.write_text(json.dumps({"max_length": 48}))
    assert CrossEncoder.load(tmp_path / "ce").pooling == "cls"
    with pytest.raises(ConfigError, match="pooling"):
        CrossEncoder.build(tiny_model, pooling="max")


def test_retrained_teacher_in_the_same_folder_gets_a_new_index(setup, tmp_path):
    """The token index is reused only for the same teacher weights and corpus: a teacher retrained into the
    same folder (same path, same documents) must not be scored with the old teacher's token vectors."""
    import shutil

    root, data, neg, li = setup
    teacher = tmp_path / "teacher"
    shutil.copytree(li, teacher)
    index = tmp_path / "shared-index"
    first, _ = _label(setup, "teacher", tmp_path / "a.jsonl", ["--teacher", str(teacher), "--index", str(index)])
    again, _ = _label(setup, "teacher", tmp_path / "b.jsonl", ["--teacher", str(teacher), "--index", str(index)])
    assert again == first  # same teacher: the index is reused and gives the same labels
    shutil.rmtree(teacher)
    make_tiny_teacher(teacher, seed=1)  # "retrained" into the same folder
    stale, _ = _label(setup, "teacher", tmp_path / "c.jsonl", ["--teacher", str(teacher), "--index", str(index)])
    fresh, _ = _label(setup, "teacher", tmp_path / "d.jsonl", ["--teacher", str(teacher), "--index", str(tmp_path / "new-index")])
    assert stale == fresh != first


def test_one_pool_for_every_labeler_and_plain_teacher_negatives(setup, tmp_path, capsys):
    """--pool: every labeler scores exactly the pool's candidates, in its order; without a pool the collective
    labeler takes its teacher negatives from the plain ranking (the authors' choice) unless told otherwise."""
    root, data, neg, li = setup
    pool, _ = _label(setup, "teacher", tmp_path / "pool.jsonl", ["--teacher", str(li)])
    order = {r["qid"]: [c["docid"] for c in r["candidates"]] for r in pool}
    for labeler, extra in (("collective", ["--teacher", str(li)]), ("hard", []), ("uniform", [])):
        records, meta = _label(setup, labeler, tmp_path / f"{labeler}.jsonl", [*extra, "--pool", str(tmp_path / "pool.jsonl")])
        assert {r["qid"]: [c["docid"] for c in r["candidates"]] for r in records} == order and meta["pool"].endswith("pool.jsonl")
    rescored, _ = _label(setup, "teacher", tmp_path / "again.jsonl", ["--teacher", str(li), "--pool", str(tmp_path / "pool.jsonl")])
    assert rescored == pool
    plain, _ = _label(setup, "collective", tmp_path / "c-plain.jsonl", ["--teacher", str(li)])
    assert {r["qid"]: [c["docid"] for c in r["candidates"]] for r in plain} == order  # same negatives as the plain teacher
    expanded, meta = _label(setup, "collective", tmp_path / "c-exp.jsonl", ["--teacher", str(li), "--negatives-from", "expanded"])
    assert meta["settings"]["negatives_from"] == "expanded"
    (tmp_path / "short.jsonl").write_text((tmp_path / "pool.jsonl").read_text().splitlines()[0] + "\n")
    from conftest import assert_clean_failure

    assert_clean_failure(label_cli.main, ["--dataset", str(data), "--labeler", "hard", "--pool", str(tmp_path / "short.jsonl"),
                                          "--output", str(tmp_path / "x.jsonl")], capsys, "has no candidates in the pool",
                         outputs=[tmp_path / "x.jsonl"])


def test_two_gloo_processes_label_like_one_and_a_torn_part_is_redone(setup, tmp_path):
    """torchrun with two processes writes the labels file of one process byte for byte (and its ranking, scores
    within float noise: other thread counts); a part
    left by a killed run (its last line torn) is continued, not redone."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from test_trainer import free_port

    root, data, neg, li = setup
    extra = ["--teacher", str(li), "--fb-docs", "2", "--fb-clusters", "4", "--fb-k", "2"]
    single, meta = _label(setup, "collective", tmp_path / "one.jsonl", [*extra, "--run", str(tmp_path / "one.trec"),
                                                                         "--index", str(tmp_path / "index")])
    argv = ["--dataset", str(data), "--labeler", "collective", "--negatives", str(neg), "--output", str(tmp_path / "two.jsonl"),
            "--bm25-negatives", "3", "--teacher-negatives", "2", "--teacher-depth", "5", *extra, "--ranking", str(tmp_path / "two.trec"),
            "--index", str(tmp_path / "index2")]
    torchrun = Path(sys.executable).with_name("torchrun")
    proc = subprocess.run([str(torchrun), "--nproc_per_node", "2", "--master_port", str(free_port()), "-m", "pyserini_ckd.label",
                           *argv], capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the same bytes: candidates are re-scored in float64, so the ranks' single thread and the one process's two
    # round alike
    assert (tmp_path / "two.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    one, two = read_run(tmp_path / "one.trec"), read_run(tmp_path / "two.trec")  # rankings: the same, scores to float noise
    assert {q: [h.docid for h in hits] for q, hits in one.items()} == {q: [h.docid for h in hits] for q, hits in two.items()}
    assert all(abs(a.score - b.score) < 1e-4 for q in one for a, b in zip(one[q], two[q]))
    assert json.loads((tmp_path / "two.jsonl.meta.json").read_text())["processes"] == 2
    assert not (tmp_path / "two.jsonl.parts").exists()
    # a part with one finished query and a torn second line: the rerun keeps the first and labels the rest
    from pyserini_ckd.labeling.shards import Part

    parts = tmp_path / "three.jsonl.parts"
    first = json.loads((tmp_path / "one.jsonl").read_text().splitlines()[0])
    kept = Part.line(first["qid"], json.dumps(first), [], {"scoring": 123.0})
    (parts).mkdir()
    (parts / "part-0-of-1.jsonl").write_text(kept + '{"qid": "q2", "rec')
    _, meta3 = _label(setup, "collective", tmp_path / "three.jsonl", [*extra, "--index", str(tmp_path / "index")])
    assert (tmp_path / "three.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    assert meta3["seconds"]["scoring"] >= 123.0  # the earlier run's seconds count too


def test_cross_encoder_takes_a_query_longer_than_its_length(tiny_model):
    """cacm has queries longer than 128 tokens: the pair is cut (the passage first) instead of failing, and a
    short query's pair is cut exactly as cutting only the passage would."""
    import torch

    from pyserini_ckd.teacher.cross_encoder import CrossEncoder

    torch.manual_seed(0)
    ce = CrossEncoder.build(tiny_model, max_length=16).eval()
    long_query = " ".join(["blood pressure salt intake"] * 20)
    passage = "salt intake raises blood pressure in adults and in children"
    assert len(ce.score(long_query, [passage, "coffee"])) == 2
    ids = ce._inputs(["what raises blood pressure"], [passage])["input_ids"][0].tolist()
    only_second = ce.tokenizer(["what raises blood pressure"], [passage], truncation="only_second", max_length=16)["input_ids"][0]
    assert ids == only_second and len(ids) == 16
