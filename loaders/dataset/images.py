"""Decoding one sample to uint8 arrays: the one decoder every strategy shares.

Every strategy decodes through here (directly, or once when it converts the
dataset), so all of them yield bit-identical values.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, UnidentifiedImageError

from loadbench.loaders.dataset.layout import SampleFiles, Split
from loadbench.loaders.errors import DatasetError

JPEG_SUFFIXES = frozenset({".jpg", ".jpeg"})
Sample = tuple[np.ndarray, np.ndarray, np.ndarray]


def _decode(path, mode: str | None) -> np.ndarray:
    try:
        with Image.open(path) as image:
            image.load()
            if mode is not None and image.mode != mode:
                raise DatasetError(f"{path}: colour mode {image.mode}, expected {mode}")
            if image.mode == "1":
                image = image.convert("L")
            return np.asarray(image)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise DatasetError(f"{path}: unreadable or corrupt image ({exc})") from exc


def _check_size(path, array: np.ndarray, size: tuple[int, int]) -> None:
    if array.shape[:2] != size:
        raise DatasetError(
            f"{path}: size {array.shape[1]}x{array.shape[0]} differs from the dataset's "
            f"{size[1]}x{size[0]}"
        )


def read_rgb(path, size: tuple[int, int]) -> np.ndarray:
    """An RGB input image as (height, width, 3) uint8."""
    array = _decode(path, "RGB")
    _check_size(path, array, size)
    return array


def read_mask(path, size: tuple[int, int]) -> np.ndarray:
    """A label mask as (height, width, 1) uint8 in {0, 1}.

    Masks may be stored with 1 or 3 channels (any channel set marks change) and values
    {0, 1} or {0, 255}. JPEG masks are lossy, so they are thresholded at 128 instead.
    """
    array = _decode(path, None)
    _check_size(path, array, size)
    if array.ndim == 3:
        array = array.max(axis=2)
    if str(path).lower().endswith(tuple(JPEG_SUFFIXES)):
        return (array >= 128).astype(np.uint8)[..., None]
    if (array <= 1).all():
        return array[..., None].copy()
    if ((array == 0) | (array == 255)).all():
        return (array // 255)[..., None]
    bad = np.unique(array[(array != 0) & (array != 1) & (array != 255)])[:5]
    raise DatasetError(
        f"{path}: mask values must be {{0, 1}} or {{0, 255}}, found {', '.join(map(str, bad))}"
    )


def read_sample(files: SampleFiles, size: tuple[int, int]) -> Sample:
    """(time1, time2, label) of one sample, decoded and validated."""
    return read_rgb(files.time1, size), read_rgb(files.time2, size), read_mask(files.label, size)


def read_index(data: Split, index: int) -> Sample:
    return read_sample(data.samples[index], data.image_size)


def sample_shapes(data: Split) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Shapes of time1, time2 and label for one sample of ``data``."""
    height, width = data.image_size
    return (height, width, 3), (height, width, 3), (height, width, 1)
