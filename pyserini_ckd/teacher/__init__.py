"""Teachers that label candidates: the late-interaction (ColBERT-style) teacher with its token index and
pseudo-relevance feedback, a dense teacher with Rocchio feedback, and a cross-encoder."""
