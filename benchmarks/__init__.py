"""emospark benchmarks: throughput, latency, load time and memory of the core, the
pandas-UDF Spark path, a row-at-a-time UDF and a sentence-transformers baseline.

Run ``python -m benchmarks`` (see ``benchmarks/README.md``); every configuration runs in
its own subprocess so its peak RSS and load time are its own.
"""
