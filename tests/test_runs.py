"""TREC run reading and writing, including a property-based round trip."""

import pytest
from hypothesis import given, settings, strategies as st

from pyserini_ckd.data.records import ScoredDoc
from pyserini_ckd.data.runs import read_run, write_run
from pyserini_ckd.errors import InputError

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(ids, st.dictionaries(ids, st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=6),
                       min_size=1, max_size=5))
def test_round_trip(tmp_path_factory, raw):
    run = {q: [ScoredDoc(d, s) for d, s in sorted(hits.items(), key=lambda kv: -kv[1])]
           for q, hits in raw.items()}
    path = tmp_path_factory.mktemp("r") / "run.trec"
    write_run(run, path, tag="t")
    back = read_run(path)
    assert list(back) == list(run)
    for q in run:
        assert [h.docid for h in back[q]] == [h.docid for h in run[q]]
        assert [h.score for h in back[q]] == [h.score for h in run[q]]  # exact: no two hits tie by rounding


@pytest.mark.parametrize("content, line, message", [
    ("q1 Q0 d1 1 2.0 t\nq1 Q0 d2 2 1.0\n", 2, "expected 6 columns"),
    ("q1 Q0 d1 one 2.0 t\n", 1, "is not a number"),
    ("q1 Q0 d1 1 2.0 t\nq1 Q0 d1 2 1.0 t\n", 2, "appears twice"),
])
def test_bad_run_lines(tmp_path, content, line, message):
    path = tmp_path / "run.trec"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        read_run(path)
    assert info.value.line == line and message in str(info.value)


def test_write_is_atomic_on_failure(tmp_path):
    class Boom(Exception):
        pass

    def hits():
        yield ScoredDoc("d1", 1.0)
        raise Boom

    path = tmp_path / "run.trec"
    with pytest.raises(Boom):
        write_run({"q": hits()}, path)  # type: ignore[dict-item]
    assert list(tmp_path.iterdir()) == []
