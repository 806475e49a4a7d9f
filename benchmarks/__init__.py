"""Benchmarks of the Clean-Tracks services (``make bench``); results in ``benchmarks/results``."""
