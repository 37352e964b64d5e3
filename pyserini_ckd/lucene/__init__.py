"""BM25 through Pyserini's Lucene: indexing, search and hard negatives."""
