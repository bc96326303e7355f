"""Benchmarks: speed and memory figures, written to bench-results.json by ``make bench``.

These are measurements, not tests: each figure is the median of several runs,
and speed figures that have a natural reference come with a same-run ratio.
"""
