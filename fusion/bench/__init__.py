"""Benchmarks run from the command line (`fusion bench ...`); each prints and writes its figures."""
