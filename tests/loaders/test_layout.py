"""Pairing by name, image validation and the errors a user sees for bad data."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from loadbench.loaders.dataset.images import read_mask, read_sample
from loadbench.loaders.dataset.layout import describe, list_splits
from loadbench.loaders.errors import DatasetError


def write(path: Path, array: np.ndarray, fmt: str = "PNG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)
    return path


def rgb(size=(16, 16), value=0) -> np.ndarray:
    return np.full((*size, 3), value, np.uint8)


def mask(size=(16, 16), high=255) -> np.ndarray:
    m = np.zeros(size, np.uint8)
    m[:4] = high
    return m


def make(root: Path, names, split="train", size=(16, 16)) -> Path:
    for i, name in enumerate(names):
        write(root / split / "time1" / f"{name}.png", rgb(size, i))
        write(root / split / "time2" / f"{name}.png", rgb(size, i + 1))
        write(root / split / "label" / f"{name}.png", mask(size))
    return root


def test_pairs_by_name_not_by_position(tmp_path):
    root = make(tmp_path, ["b", "a", "c"])
    spec = describe(root, "train")
    assert spec.names == ("a", "b", "c")
    assert all(s.time1.stem == s.time2.stem == s.label.stem == s.name for s in spec.samples)
    assert spec.image_size == (16, 16)
    assert spec.bytes_per_sample == 16 * 16 * 7
    assert spec.total_bytes == 3 * 16 * 16 * 7
    assert list_splits(root) == ["train"]


def test_missing_stem_lists_first_ten_and_count(tmp_path):
    names = [f"{i:03d}" for i in range(15)]
    root = make(tmp_path, names)
    for name in names[:12]:
        (root / "train" / "label" / f"{name}.png").unlink()
    with pytest.raises(DatasetError) as info:
        describe(root, "train")
    message = str(info.value)
    assert "label: missing names" in message
    assert "000, 001" in message and "009" in message and "010" not in message
    assert "(first 10 of 12)" in message


def test_skip_unpaired_leaves_out_and_lists_files_without_a_partner(tmp_path):
    root = make(tmp_path, ["a", "b", "c", "d"])
    (root / "train" / "time2" / "b.png").unlink()
    (root / "train" / "label" / "d.png").unlink()
    with pytest.raises(DatasetError, match="missing names"):
        describe(root, "train")  # by default a name that does not pair is refused
    spec = describe(root, "train", skip_unpaired=True)
    assert spec.names == ("a", "c")
    assert spec.unpaired == ("label/b.png", "time1/b.png", "time1/d.png", "time2/d.png")
    assert describe(make(tmp_path / "whole", ["a"]), "train", skip_unpaired=True).unpaired == ()


def test_stem_with_two_extensions_is_an_error(tmp_path):
    root = make(tmp_path, ["a", "b"])
    write(root / "train" / "time2" / "a.jpg", rgb(), "JPEG")
    with pytest.raises(DatasetError, match=r"time2: names present twice.*a \(\.jpg, \.png\)"):
        describe(root, "train")


def test_corrupt_image_is_named(tmp_path):
    root = make(tmp_path, ["a", "b"])
    bad = root / "train" / "time1" / "b.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(DatasetError, match=rf"{bad}: unreadable image"):
        describe(root, "train")


def test_truncated_image_fails_at_decode_naming_the_file(tmp_path):
    root = make(tmp_path, ["a"], size=(64, 64))
    path = root / "train" / "time2" / "a.png"
    noisy = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    write(path, noisy)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    spec = describe(root, "train")  # the header is intact
    with pytest.raises(DatasetError, match=rf"{path}: unreadable or corrupt"):
        read_sample(spec.samples[0], spec.image_size)


def test_size_mismatch_names_file_and_both_sizes(tmp_path):
    root = make(tmp_path, ["a", "b"])
    odd = write(root / "train" / "time2" / "b.png", rgb((16, 20)))
    with pytest.raises(DatasetError) as info:
        describe(root, "train")
    assert f"{odd}: size 20x16 differs from" in str(info.value)
    assert "(16x16)" in str(info.value)


def test_empty_split_is_named(tmp_path):
    for folder in ("time1", "time2", "label"):
        (tmp_path / "val" / folder).mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"split 'val'.* is empty"):
        describe(tmp_path, "val")


def test_unknown_split_lists_the_ones_found(tmp_path):
    root = make(tmp_path, ["a"])
    with pytest.raises(DatasetError, match=r"no such split; splits found under .*: train"):
        describe(root, "test")


def test_missing_folder_is_named(tmp_path):
    root = make(tmp_path, ["a"])
    shutil.rmtree(root / "train" / "label")
    with pytest.raises(DatasetError, match=r"train/label: missing folder"):
        describe(root, "train")


def test_grayscale_input_is_rejected(tmp_path):
    root = make(tmp_path, ["a"])
    write(root / "train" / "time1" / "a.png", np.zeros((16, 16), np.uint8))
    with pytest.raises(DatasetError, match="colour mode L, expected RGB"):
        describe(root, "train")


def test_hidden_and_temporary_files_are_ignored(tmp_path):
    root = make(tmp_path, ["a"])
    (root / "train" / "time1" / ".a.png.123.tmp").write_bytes(b"half")
    (root / "train" / "label" / "notes.txt").write_text("x")
    assert describe(root, "train").names == ("a",)


@pytest.mark.parametrize(
    ("stored", "channels"),
    [(255, 1), (1, 1), (255, 3), (1, 3)],
)
def test_masks_normalise_to_zero_one(tmp_path, stored, channels):
    m = mask(high=stored)
    if channels == 3:
        m = np.repeat(m[..., None], 3, axis=2)
    path = write(tmp_path / "m.png", m)
    out = read_mask(path, (16, 16))
    assert out.shape == (16, 16, 1) and out.dtype == np.uint8
    assert out[:4].min() == 1 and out[4:].max() == 0


def test_mask_with_other_values_is_named(tmp_path):
    m = mask()
    m[10, 10] = 128
    path = write(tmp_path / "m.png", m)
    with pytest.raises(DatasetError, match=rf"{path}: mask values must be .* found 128"):
        read_mask(path, (16, 16))


def test_jpeg_inputs_and_masks_are_read(tmp_path):
    root = tmp_path
    write(root / "train" / "time1" / "a.jpg", rgb(value=100), "JPEG")
    write(root / "train" / "time2" / "a.jpeg", rgb(value=120), "JPEG")
    write(root / "train" / "label" / "a.jpg", mask(), "JPEG")
    spec = describe(root, "train")
    time1, time2, label = read_sample(spec.samples[0], spec.image_size)
    assert abs(int(time1.mean()) - 100) <= 2 and abs(int(time2.mean()) - 120) <= 2
    assert set(np.unique(label)) == {0, 1}
    assert label[:4].all() and not label[5:].any()


def test_signature_changes_when_a_file_changes(tmp_path):
    root = make(tmp_path, ["a", "b"])
    before = describe(root, "train").signature
    assert describe(root, "train").signature == before
    write(root / "train" / "time1" / "b.png", rgb(value=77))
    assert describe(root, "train").signature != before
