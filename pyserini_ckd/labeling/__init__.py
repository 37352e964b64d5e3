"""The label generator: teachers score each training query's candidates (see :mod:`.labels`)."""
