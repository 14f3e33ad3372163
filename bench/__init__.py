"""Benchmarks: index build, ask latency by stage, HTTP latency, scale, ANN recall, a BM25-rebuild baseline.

Run ``make bench`` (or ``.venv/bin/python -m bench``); ``--quick`` for a short run. Results go
to BENCHMARKS.md (full run) or bench/out/ (quick run) with the machine and the command.
"""
