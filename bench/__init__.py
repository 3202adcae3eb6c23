"""Benchmarks of issue 7: certificate render + sign in-process, and the public verification endpoint against a
bare Litestar hello-world. ``make bench`` (``python -m bench``) runs them all and prints a table."""
