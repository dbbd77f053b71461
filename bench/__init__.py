"""Benchmarks: each prints its figures, then its target ratios, all measured in one run."""
