"""Fixtures of the pytest-benchmark suite: one synthetic dataset per session.

Size it with LOADBENCH_BENCH_PAIRS and LOADBENCH_BENCH_SIZE (default 256 pairs of
128x128, about a minute for the whole suite on 2 cores).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def bench_spec(tmp_path_factory: pytest.TempPathFactory):
    from loaders.layout import describe
    from loaders.synth import SynthParams, synthesize

    pairs = int(os.environ.get("LOADBENCH_BENCH_PAIRS", "256"))
    size = int(os.environ.get("LOADBENCH_BENCH_SIZE", "128"))
    root = tmp_path_factory.mktemp("bench") / "data"
    synthesize(root, SynthParams(pairs=pairs, size=size, splits={"train": 1.0}))
    return describe(root, "train")


@pytest.fixture(scope="session")
def bench_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-cache")
