"""Effectiveness of runs: ir-measures aggregates and per-query values, paired t-tests, tables (:mod:`.effectiveness`)."""

from .effectiveness import (DEFAULT_MEASURES, RunEvaluation, evaluate_run, evaluate_runs, format_table, paired_t_test,
                            parse_measures)

__all__ = ["DEFAULT_MEASURES", "RunEvaluation", "evaluate_run", "evaluate_runs", "format_table", "paired_t_test",
           "parse_measures"]
