"""Shared fixtures: tiny synthetic datasets made once per session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Strategies "from outside the package" live here, importable as top-level modules.
PLUGINS = Path(__file__).parent / "plugins"
sys.path.insert(0, str(PLUGINS))
# Hand-made records (tests/reports/record_factory.py), for any test that judges records.
sys.path.insert(0, str(Path(__file__).parent / "reports"))

from loadbench.loaders.dataset.synth import SynthParams, synthesize  # noqa: E402

# 23 pairs with batch 5: four full batches and a last partial one of 3.
TINY_PAIRS = 23
TINY_SIZE = 32
TINY_BATCH = 5


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 23-pair 32x32 synthetic dataset with one split, ``train``; treat as read-only."""
    root = tmp_path_factory.mktemp("tiny") / "data"
    synthesize(
        root, SynthParams(pairs=TINY_PAIRS, size=TINY_SIZE, splits={"train": 1.0}), workers=1
    )
    return root


@pytest.fixture(scope="session")
def tiny_spec(tiny_root: Path):
    from loadbench.loaders.dataset.layout import describe

    return describe(tiny_root, "train")


@pytest.fixture
def cache_root(tmp_path: Path) -> Path:
    return tmp_path / "cache"
