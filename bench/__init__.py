"""Benchmarks behind `make bench`; each writes its figures into BENCHMARKS.md."""
