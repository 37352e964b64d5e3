"""Runs from several systems: fusion of a dense and a BM25 run (:mod:`.fusion`), choosing its weight on tuning
queries (:mod:`.fusion_tuning`), and the search job behind ``python -m pyserini_ckd.search`` (:mod:`.search_job`)."""
