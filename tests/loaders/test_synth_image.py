"""Tests for the synthetic aerial change-detection samples."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from loadbench.loaders.dataset.synth_image import make_pair


def _pair(seed: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sample a fresh generator with this seed makes."""
    return make_pair(np.random.default_rng(seed), size)


def _png_kb(image: np.ndarray) -> float:
    """The size of an image saved as PNG with Pillow's defaults, in KB."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return len(buffer.getvalue()) / 1024


def _abs_diff(time1: np.ndarray, time2: np.ndarray) -> np.ndarray:
    """Per-pixel mean absolute difference over the channels."""
    return np.abs(time1.astype(np.int16) - time2.astype(np.int16)).mean(axis=-1)


@pytest.mark.parametrize("size", [32, 50, 64, 97])
def test_shapes_and_dtypes(size: int) -> None:
    time1, time2, mask = _pair(0, size)
    assert time1.shape == (size, size, 3) and time1.dtype == np.uint8
    assert time2.shape == (size, size, 3) and time2.dtype == np.uint8
    assert mask.shape == (size, size) and mask.dtype == np.uint8


@pytest.mark.parametrize("seed", range(8))
def test_mask_is_binary(seed: int) -> None:
    _, _, mask = _pair(seed, 64)
    assert set(np.unique(mask).tolist()) <= {0, 255}


def test_same_seed_gives_identical_arrays() -> None:
    for first, second in zip(_pair(7, 64), _pair(7, 64), strict=True):
        np.testing.assert_array_equal(first, second)


def test_different_seeds_give_different_arrays() -> None:
    for first, second in zip(_pair(7, 64), _pair(8, 64), strict=True):
        assert not np.array_equal(first, second)


def test_one_generator_gives_a_new_sample_each_call() -> None:
    rng = np.random.default_rng(3)
    first, second = make_pair(rng, 64), make_pair(rng, 64)
    assert not np.array_equal(first[0], second[0])


def test_changes_differ_much_more_than_the_rest() -> None:
    inside, outside = [], []
    for seed in range(8):
        time1, time2, mask = _pair(seed, 128)
        changed = mask == 255
        if changed.any():
            difference = _abs_diff(time1, time2)
            inside.append(difference[changed].mean())
            outside.append(difference[~changed].mean())
    assert len(inside) >= 6
    assert np.mean(inside) > 3 * np.mean(outside)
    assert np.mean(inside) > 15.0


@pytest.mark.parametrize("seed", range(6))
def test_outside_the_mask_only_a_mild_radiometric_change(seed: int) -> None:
    time1, time2, mask = _pair(seed, 96)
    difference = _abs_diff(time1, time2)[mask == 0]
    assert difference.mean() < 7.0
    assert np.percentile(difference, 99) < 12.0


def test_changed_area_is_a_modest_fraction() -> None:
    fractions = np.array([(_pair(seed, 128)[2] == 255).mean() for seed in range(12)])
    assert 0.02 < fractions.mean() < 0.2
    assert fractions.max() < 0.35
    assert (fractions > 0).sum() >= 10


def test_images_are_not_flat_or_uniform() -> None:
    time1, _, _ = _pair(1, 128)
    assert time1.std(axis=(0, 1)).min() > 10.0
    assert len(np.unique(time1.reshape(-1, 3), axis=0)) > 1000


def test_png_size_resembles_aerial_imagery() -> None:
    sizes = [_png_kb(image) for seed in range(4) for image in _pair(seed, 256)[:2]]
    assert 90.0 < np.mean(sizes) < 170.0
