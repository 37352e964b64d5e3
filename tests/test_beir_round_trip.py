"""Property: a dataset written in BEIR layout reads back unchanged (any ids, text, titles, relevance)."""

import string

from hypothesis import given, settings, strategies as st

from pyserini_ckd.data.beir_writer import write_beir
from pyserini_ckd.data.datasets import Dataset
from pyserini_ckd.data.records import Document, Query

ids = st.text(alphabet=string.ascii_letters + string.digits + "-_.:", min_size=1, max_size=10)
text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=40).map(str.strip)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(ids, text, text), min_size=1, max_size=8, unique_by=lambda d: d[0]),
       st.lists(st.tuples(ids, text.filter(bool)), min_size=1, max_size=5, unique_by=lambda q: q[0]),
       st.data())
def test_beir_round_trip(tmp_path_factory, docs, queries, data):
    documents = [Document(d, t, x) for d, t, x in docs]
    qs = [Query(q, t) for q, t in queries]
    qrels = {q.qid: {d.docid: data.draw(st.integers(0, 3))
                     for d in data.draw(st.lists(st.sampled_from(documents), min_size=1, max_size=3, unique=True))}
             for q in qs}
    folder = write_beir(tmp_path_factory.mktemp("beir") / "ds", documents, qs, {"test": qrels})
    ds = Dataset(folder)
    assert list(ds.corpus.values()) == documents
    assert list(ds.queries.values()) == qs
    assert ds.qrels("test") == qrels
