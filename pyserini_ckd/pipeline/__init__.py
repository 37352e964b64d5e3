"""``python -m pyserini_ckd.pipeline``: the whole experiment in one command (see :mod:`.experiment`)."""
