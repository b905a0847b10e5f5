"""The pytest-benchmark suite (pytest benchmarks/ --benchmark-only); not installed."""
