"""After ``import pyserini_ckd``, Pyserini imports work in a fresh shell with no variables set."""

import os
import subprocess
import sys


def _clean_env():
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "OPENAI_API_KEY", "CLASSPATH")}
    env["PATH"] = "/usr/bin:/bin"  # no Java 21 on it
    return env


def test_pyserini_imports_after_package_import():
    code = ("import pyserini_ckd\n"
            "from pyserini.search.lucene import LuceneSearcher\n"
            "import pyserini.encode\n"
            "from jnius import autoclass\n"
            "print(autoclass('java.lang.System').getProperty('java.version'))\n")
    out = subprocess.run([sys.executable, "-c", code], env=_clean_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1].startswith("21")


def test_pyserini_cli_module_runs_through_wrapper(tmp_path):
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("q1 0 d1 1\nq1 0 d2 0\n")
    run = tmp_path / "run.trec"
    run.write_text("q1 Q0 d2 1 2.0 t\nq1 Q0 d1 2 1.0 t\n")
    out = subprocess.run([sys.executable, "-m", "pyserini_ckd.pyserini_run", "pyserini.eval.trec_eval",
                          "-c", "-m", "recip_rank", str(qrels), str(run)],
                         env=_clean_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert any(line.split()[:3] == ["recip_rank", "all", "0.5000"] for line in out.stdout.splitlines()), out.stdout


def test_user_openai_key_is_kept():
    env = _clean_env()
    env["OPENAI_API_KEY"] = "mine"
    out = subprocess.run([sys.executable, "-c", "import os, pyserini_ckd; print(os.environ['OPENAI_API_KEY'])"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "mine"
