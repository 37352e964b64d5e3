"""The pipeline end to end on tiny corpora and a tiny random model: every stage, caching, reruns."""

import json

import pytest

from pyserini_ckd.pipeline import __main__ as pipeline_cli

from conftest import write_dataset

TINY = {
    "seeds": [1, 2],
    "holdout_fraction": 0.34,
    "train_queries_limit": None,
    "bm25": {"hits": 8, "negative_depth": 8, "train_hits": 8},
    "encoder": {"passage_max_length": 32, "query_max_length": 12, "batch_size": 4},
    "warm_start": {"loss": "hard", "steps": 2, "batch_size": 2, "group_size": 3, "learning_rate": 1e-3},
    "teacher": {"dim": 8, "query_maxlen": 8, "doc_maxlen": 24, "steps": 2, "batch_size": 2, "group_size": 3},
    "cross_encoder": {"max_length": 32, "steps": 2, "batch_size": 2, "group_size": 3},
    "labels": {"labelers": ["collective", "teacher", "cross-encoder", "uniform"], "bm25_negatives": 3,
               "teacher_negatives": 2, "teacher_depth": 5, "prf": {"fb_docs": 2, "fb_clusters": 4, "fb_k": 2}},
    "students": {"steps": 2, "batch_size": 2, "group_size": 3},
}


@pytest.fixture(scope="module")
def env(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("pipe")
    write_dataset(root / "data" / "tiny")
    write_dataset(root / "data" / "other")
    config = root / "tiny.json"
    config.write_text(json.dumps({**TINY, "base_model": str(tiny_model)}))
    return root, config


def _argv(root, config, workdir, extra=()):
    return ["--dataset", str(root / "data" / "tiny"), "--workdir", str(workdir), "--profile", "full", "--config", str(config),
            "--transfer", str(root / "data" / "other"), *extra]


def test_pipeline_runs_every_stage_then_skips_them(env, capsys):
    root, config = env
    w = root / "w"
    pipeline_cli.main(_argv(root, config, w))
    printed = capsys.readouterr().out
    assert "| student-collective" in printed and "tiny / test" in printed
    systems = ["bm25", "zeroshot", "student-hard", "student-uniform", "student-teacher", "student-cross-encoder",
               "student-collective", "hybrid-collective"]
    for system in systems:
        for d in ("tiny", "other"):
            assert (w / "runs" / f"{system}.{d}.test.trec").is_file(), (system, d)
    assert (w / "runs" / "student-collective.s2.tiny.test.trec").is_file()
    for labeler in ("collective", "teacher", "cross-encoder", "uniform"):
        assert (w / "labels" / f"{labeler}.jsonl").is_file()
    # one token index of the late-interaction teacher, built by the pool (the plain teacher's candidates), reused by
    # both of its labelers
    reused = [json.loads((w / "labels" / f"{l}.jsonl.meta.json").read_text())["index_reused"] for l in ("pool", "collective", "teacher")]
    assert reused == [False, True, True] and (w / "labels" / "late-interaction.token-index" / "meta.json").is_file()
    assert not list((w / "labels").glob("*.jsonl.teacher-index"))
    # the model card of each student names its evaluation
    assert "model-index:" in (w / "models" / "student-collective" / "README.md").read_text()
    results = json.loads((w / "results.json").read_text())
    assert set(results["results"]) == set(systems)
    entry = results["results"]["student-collective"]["tiny"]["test"]
    assert set(entry["seeds"]) == {"student-collective", "student-collective.s2"} and "p_vs_student_hard" in entry
    assert set(results["teacher_cost"]) == {"collective", "teacher", "cross-encoder", "uniform", "hard"}  # hard: the pool's
    assert results["teacher_cost"]["collective"]["teacher_training"] > 0
    assert "collective" in results["labelers_dev_nDCG@10"]
    assert results["fusion"]["method"] == "linear"
    assert results["fusion_tuned_on"]["tuned_on"] == "dev"  # too few unseen dev queries here: the whole dev slice
    assert results["machine"]["versions"]["torch"]
    assert (w / "results.png").stat().st_size > 5000
    report = (w / "report.md").read_text()
    assert "Teacher cost" in report and "Expansion tokens" in report

    # a rerun does nothing but the report
    stamps = {p.name: p.stat().st_mtime for p in (w / "stamps").iterdir()}
    pipeline_cli.main(_argv(root, config, w))
    assert {p.name: p.stat().st_mtime for p in (w / "stamps").iterdir()} == stamps

    # a changed student setting reruns the students and what depends on them, nothing upstream;
    # --dry-run lists exactly those and runs nothing
    changed = root / "changed.json"
    changed.write_text(json.dumps({**json.loads(config.read_text()), "students": {**TINY["students"], "learning_rate": 5e-4}}))
    capsys.readouterr()
    pipeline_cli.main(_argv(root, changed, w, ["--dry-run"]))
    planned = {line.split()[-1] for line in capsys.readouterr().out.splitlines() if line.startswith("would run")}
    assert {p.name: p.stat().st_mtime for p in (w / "stamps").iterdir()} == stamps
    pipeline_cli.main(_argv(root, changed, w))
    after = {p.name: p.stat().st_mtime for p in (w / "stamps").iterdir()}
    rerun = {n for n in after if after[n] != stamps.get(n)}
    assert "student.student-collective.json" in rerun and "hybrid-collective.json" in rerun
    assert not {n for n in rerun if n.startswith(("bm25", "teacher", "labels", "warm-start", "run.zeroshot"))}
    assert {n + ".json" for n in planned} == rerun

    # dropping a labeler from the list reruns nothing of the others
    fewer = root / "fewer.json"
    settings = json.loads(changed.read_text())
    fewer.write_text(json.dumps({**settings, "labels": {**TINY["labels"], "labelers": ["collective", "teacher", "uniform"]}}))
    before = {p.name: p.stat().st_mtime for p in (w / "stamps").iterdir()}
    pipeline_cli.main(_argv(root, fewer, w))
    assert {p.name: p.stat().st_mtime for p in (w / "stamps").iterdir()} == before

    # a changed teacher setting retrains the teacher, and its labels are scored with token vectors of the new
    # weights (no stale token index), then the students follow; BM25 and the warm start stay
    from pyserini_ckd.teacher.token_index import teacher_fingerprint

    index_meta = w / "labels" / "late-interaction.token-index" / "meta.json"
    old_index = json.loads(index_meta.read_text())["teacher_fingerprint"]
    retaught = root / "retaught.json"
    retaught.write_text(json.dumps({**json.loads(fewer.read_text()), "teacher": {**TINY["teacher"], "learning_rate": 1e-3}}))
    pipeline_cli.main(_argv(root, retaught, w))
    after = {p.name: p.stat().st_mtime for p in (w / "stamps").iterdir()}
    rerun = {n for n in after if after[n] != before.get(n)}
    assert {"teacher-late-interaction.json", "labels.pool.json", "labels.collective.json", "labels.teacher.json",
            "student.student-collective.json"} <= rerun
    assert not {n for n in rerun if n.startswith(("bm25", "warm-start", "run.zeroshot"))}
    new_index = json.loads(index_meta.read_text())["teacher_fingerprint"]
    assert new_index != old_index and new_index == teacher_fingerprint(w / "models" / "teacher-li")
    assert json.loads((w / "labels" / "pool.jsonl.meta.json").read_text())["index_reused"] is False


def test_teacher_from_the_warm_start(env, tmp_path):
    """teacher.from_warm_start: the warm start is trained with a late-interaction head, that head labels,
    and the labels' teacher cost holds no training (the paper's accounting)."""
    root, config = env
    joint = tmp_path / "joint.json"
    settings = json.loads(config.read_text())
    settings["seeds"] = [1]
    settings["teacher"] = {**settings["teacher"], "from_warm_start": True, "li_weight": 0.5}
    settings["labels"] = {**settings["labels"], "labelers": ["collective", "teacher"]}
    joint.write_text(json.dumps(settings))
    w = tmp_path / "w"
    pipeline_cli.main(["--dataset", str(root / "data" / "tiny"), "--workdir", str(w), "--profile", "full",
                       "--config", str(joint), "--transfer"])
    warm = w / "models" / "student-hard-warm"
    assert (warm / "late_interaction.json").is_file() and json.loads((warm / "joint.json").read_text())["li_weight"] == 0.5
    assert not (w / "models" / "teacher-li").exists() and not (w / "stamps" / "teacher-late-interaction.json").exists()
    for labeler in ("collective", "teacher"):
        meta = json.loads((w / "labels" / f"{labeler}.jsonl.meta.json").read_text())
        assert meta["teacher"] == str(warm) and meta["seconds"]["teacher_training"] == 0.0
    assert (w / "runs" / "student-collective.tiny.test.trec").is_file()
    assert json.loads((w / "models" / "student-collective" / "train_config.json").read_text())["config"]["init"] == str(warm)


def test_compare_design_one_pool_dev_temperature_and_selection(env, tmp_path):
    """The compare-cpu design on the tiny collection: no warm start, one pool for every labeler (hard included),
    the kd temperature chosen on the dev rows, and each student's best step kept on the unseen dev slice."""
    from pyserini_ckd.labeling.labels import read_labels

    root, config = env
    settings = json.loads(config.read_text())
    settings.update(seeds=[1], warm_start=None, selection_depth=5)
    settings["labels"] = {**settings["labels"], "labelers": ["collective", "teacher", "uniform"], "pool": True}
    settings["teacher"] = {**settings["teacher"], "select_every": 1}
    settings["students"] = {**settings["students"], "temperature": "dev", "temperature_grid": [0.25, 4.0], "select_every": 1,
                            "max_length": 16}
    path = tmp_path / "compare.json"
    path.write_text(json.dumps(settings))
    w = tmp_path / "w"
    pipeline_cli.main(["--dataset", str(root / "data" / "tiny"), "--workdir", str(w), "--profile", "compare-cpu",
                       "--config", str(path), "--transfer"])
    pool = {r["qid"]: [c["docid"] for c in r["candidates"]] for r in read_labels(w / "labels" / "pool.jsonl")}
    for labeler in ("collective", "teacher", "uniform", "hard"):  # every labeler scores exactly the pool's candidates
        assert {r["qid"]: [c["docid"] for c in r["candidates"]] for r in read_labels(w / "labels" / f"{labeler}.jsonl")} == pool
    choice = json.loads((w / "labels" / "collective.temperature.json").read_text())
    assert choice["temperature"] in [row["temperature"] for row in choice["table"]] and choice["dev_queries"] > 0
    assert not (w / "models" / "student-hard-warm").exists()
    for system in ("student-hard", "student-collective", "student-uniform"):
        summary = json.loads((w / "models" / system / "train_config.json").read_text())
        assert summary["config"]["init"].endswith("base-sized")
        assert summary["config"]["loss"] == {"student-hard": "hard", "student-uniform": "uniform"}.get(system, "kd")
        assert set(summary["selection"]["history"]) == {"0", "1", "2"}
        assert summary["selection"]["chosen_step"] in (0, 1, 2)
    kd = json.loads((w / "models" / "student-collective" / "train_config.json").read_text())["config"]
    assert kd["temperature"] == choice["temperature"] and kd["max_length"] == 16
    assert json.loads((w / "models" / "student-hard" / "pyserini_ckd.json").read_text())["passage_max_length"] == 32
    assert "selection" in json.loads((w / "models" / "teacher-li" / "train_config.json").read_text())
    results = json.loads((w / "results.json").read_text())
    delta = results["results"]["student-collective"]["tiny"]["test"]["delta_vs_zeroshot"]
    assert delta["ci95"][0] <= delta["mean"] <= delta["ci95"][1]
    audit = results["label_audit"]
    assert set(audit) == {"collective", "teacher", "uniform", "hard"} and audit["hard"]["positive_mass"] == 1.0
    assert audit["collective"]["temperature"] == choice["temperature"]
    assert 0 <= audit["collective"]["expansion"]["target_total_variation"] <= 1
    assert results["selection"]["student-collective"]["of"] == 2
    report = (w / "report.md").read_text()
    for section in ("## Five views", "## Label audit", "## Temperatures chosen", "## Steps kept"):
        assert section in report


def test_a_student_that_kept_its_start_reuses_the_start_index(tmp_path, tiny_model, caplog):
    """A model folder with the same weights and settings as one already encoded (a student whose selection kept
    step 0) gets a copy of that index, naming itself, instead of a second encoding."""
    from pyserini_ckd.dense.encoder import DenseEncoder
    from pyserini_ckd.pipeline.config import PipelineConfig
    from pyserini_ckd.pipeline.experiment import Experiment

    data = write_dataset(tmp_path / "tiny")
    settings = {**TINY, "base_model": str(tiny_model)}
    config = tmp_path / "c.json"
    config.write_text(json.dumps(settings))
    exp = Experiment(PipelineConfig(dataset=str(data), workdir=tmp_path / "w", profile="full", transfer=[], config_file=config))
    a, b = tmp_path / "a", tmp_path / "b"
    DenseEncoder.load(tiny_model).save(a)
    DenseEncoder.load(a).save(b)
    queries = exp.main.split_queries("test")
    run_a = exp.dense_search(a, exp.main, queries, tmp_path / "w" / "dense" / "tiny" / "a", 5)
    with caplog.at_level("INFO"):
        run_b = exp.dense_search(b, exp.main, queries, tmp_path / "w" / "dense" / "tiny" / "b", 5)
    assert run_a == run_b and "index copied" in caplog.text
    meta = json.loads((tmp_path / "w" / "dense" / "tiny" / "b" / "pyserini_ckd.json").read_text())
    assert meta["model"] == str(b)


def test_quick_profile_without_a_pool(env, tmp_path):
    """The quick profile's design (make demo): a warm start, collective labels with their own candidates, the hard
    student on BM25 negatives, no model selection."""
    root, config = env
    settings = {k: v for k, v in json.loads(config.read_text()).items() if k not in ("teacher", "cross_encoder", "students")}
    settings.update(seeds=[1], labels={**TINY["labels"], "labelers": ["collective"]},
                    students={**TINY["students"]}, teacher={**TINY["teacher"]})
    path = tmp_path / "quick.json"
    path.write_text(json.dumps(settings))
    w = tmp_path / "w"
    pipeline_cli.main(["--dataset", str(root / "data" / "tiny"), "--workdir", str(w), "--profile", "quick", "--config", str(path),
                       "--transfer"])
    assert not (w / "labels" / "pool.jsonl").exists() and not (w / "labels" / "hard.jsonl").exists()
    hard = json.loads((w / "models" / "student-hard" / "train_config.json").read_text())
    assert hard["config"]["init"] == str(w / "models" / "student-hard-warm") and "selection" not in hard
    assert (w / "runs" / "hybrid-collective.tiny.test.trec").is_file()
    assert "student-collective" in json.loads((w / "results.json").read_text())["results"]
