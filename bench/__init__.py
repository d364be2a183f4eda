"""Benchmarks (not part of the application)."""
