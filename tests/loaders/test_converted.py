"""Converted files: reused while valid, rebuilt after a source change, never trusted
after an interruption or truncation."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from loadbench.loaders import pipeline, registry
from loadbench.loaders.dataset.converted import convert
from loadbench.loaders.dataset.layout import describe
from loadbench.loaders.errors import ConversionError
from loadbench.loaders.options import PipelineOptions

CONVERTING = ["tfrecord", "memmap"]


@pytest.fixture
def own_root(tiny_root: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny dataset that a test may change."""
    return Path(shutil.copytree(tiny_root, tmp_path / "data"))


def prepared(name: str, root: Path, cache_root: Path):
    spec = describe(root, "train")
    strategy = registry.create(name)
    strategy.prepare(spec, cache_root)
    return spec, strategy


def first_batch(strategy, spec, cache_root) -> np.ndarray:
    ds = pipeline.build(strategy, spec, PipelineOptions(batch_size=4), cache_root)
    (time1, _), _ = next(iter(ds))
    return time1.numpy()


@pytest.mark.parametrize("name", CONVERTING)
def test_conversion_is_reused(name, own_root, cache_root):
    _, first = prepared(name, own_root, cache_root)
    stamps = {p: p.stat().st_mtime_ns for p in first.conversion.directory.iterdir()}
    _, second = prepared(name, own_root, cache_root)
    assert second.conversion.directory == first.conversion.directory
    assert {p: p.stat().st_mtime_ns for p in second.conversion.directory.iterdir()} == stamps


@pytest.mark.parametrize("name", CONVERTING)
def test_changed_source_is_rebuilt(name, own_root, cache_root):
    spec, before = prepared(name, own_root, cache_root)
    path = spec.samples[0].time1
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(path)
    spec, after = prepared(name, own_root, cache_root)
    assert after.conversion.directory != before.conversion.directory
    assert first_batch(after, spec, cache_root)[0].min() == 200  # uint8, as read


@pytest.mark.parametrize("name", CONVERTING)
def test_truncated_file_is_rebuilt(name, own_root, cache_root):
    spec, strategy = prepared(name, own_root, cache_root)
    reference = first_batch(strategy, spec, cache_root)
    victim = max(strategy.conversion.directory.glob("*[!n]"), key=lambda p: p.stat().st_size)
    assert victim.name != "manifest.json"
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    spec, rebuilt = prepared(name, own_root, cache_root)
    assert victim.stat().st_size == rebuilt.conversion.files[victim.name]
    np.testing.assert_array_equal(first_batch(rebuilt, spec, cache_root), reference)


@pytest.mark.parametrize("name", CONVERTING)
def test_truncation_after_prepare_is_reported_not_read_short(name, own_root, cache_root):
    spec, strategy = prepared(name, own_root, cache_root)
    victim = next(p for p in strategy.conversion.directory.iterdir() if p.name != "manifest.json")
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.raises(ConversionError, match=f"{victim}: 100 bytes, expected"):
        first_batch(strategy, spec, cache_root)


def test_interrupted_conversion_is_never_trusted(own_root, cache_root):
    spec = describe(own_root, "train")
    calls = []

    def dies_half_way(directory: Path) -> dict:
        (directory / "part-0").write_bytes(b"x" * 10)
        calls.append(directory)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        convert(spec, "demo", 1, cache_root, dies_half_way)
    assert list((cache_root / "demo").iterdir()) == []  # staging removed, nothing in place

    def builds(directory: Path) -> dict:
        (directory / "part-0").write_bytes(b"y" * 10)
        calls.append(directory)
        return {"ok": True}

    done = convert(spec, "demo", 1, cache_root, builds)
    assert done.info == {"ok": True} and done.path("part-0").read_bytes() == b"y" * 10
    assert len(calls) == 2


def test_directory_without_manifest_is_rebuilt(own_root, cache_root):
    """What a killed process (no chance to clean up) leaves is not trusted either."""
    spec = describe(own_root, "train")
    done = convert(spec, "demo", 1, cache_root, lambda d: (d / "f").write_bytes(b"1") and {})
    (done.directory / "manifest.json").unlink()
    again = convert(spec, "demo", 1, cache_root, lambda d: (d / "f").write_bytes(b"22") and {})
    assert again.path("f").read_bytes() == b"22"
