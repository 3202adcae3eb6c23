"""Benchmarks of issue 6 (B0–B6) on the production set-up. ``make bench`` (``python -m bench``) runs them all and
prints a table; ``python -m bench --write-results`` also records the run in bench/RESULTS.md."""
