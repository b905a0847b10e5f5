"""The graph-native readers of encoded images (files, tfrecord_png, ceiling_decode) and
the copy ceiling: the same values as the shared Python decoder for every mask layout
and JPEG, clear errors naming the file or record, and a copy that really copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from loadbench.harness.child.measure import diagnosed
from loadbench.loaders import pipeline, registry
from loadbench.loaders.dataset.images import read_index
from loadbench.loaders.dataset.layout import FOLDERS, describe
from loadbench.loaders.errors import DatasetError
from loadbench.loaders.options import PipelineOptions
from loadbench.loaders.strategies.ceilings import CopyCeiling
from loadbench.loaders.strategies.held import aligned_empty

GRAPH_READERS = ["files", "tfrecord_png"]
SIZE = 16


def write_dataset(root: Path, pairs: int, mask_mode: str, suffix: str = ".png") -> Path:
    """A split whose masks are stored as ``mask_mode`` (PIL's "1", "L" {0,1}, "L255"
    {0, 255}, "RGB" {0, 255}) and whose files end in ``suffix``."""
    rng = np.random.default_rng(7)
    for folder in FOLDERS:
        (root / "train" / folder).mkdir(parents=True, exist_ok=True)
    for index in range(pairs):
        name = f"p{index:03d}"
        for folder in ("time1", "time2"):
            pixels = rng.integers(0, 256, (SIZE, SIZE, 3), np.uint8)
            save(Image.fromarray(pixels), root / "train" / folder / f"{name}{suffix}")
        change = rng.random((SIZE, SIZE)) < 0.3
        if mask_mode == "1":
            mask = Image.fromarray(change).convert("1")
        elif mask_mode == "L":
            mask = Image.fromarray(change.astype(np.uint8))
        elif mask_mode == "L255":
            mask = Image.fromarray(change.astype(np.uint8) * 255)
        else:
            mask = Image.fromarray(np.repeat(change[..., None], 3, 2).astype(np.uint8) * 255)
        save(mask, root / "train" / "label" / f"{name}{suffix}")
    return root


def save(image: Image.Image, path: Path) -> None:
    if path.suffix == ".png":
        image.save(path)
    else:
        image.convert("RGB" if image.mode != "L" else "L").save(path, quality=90)


def read_all(name: str, data, cache_root: Path, batch: int = 4):
    strategy = registry.create(name)
    strategy.prepare(data, cache_root)
    ds = pipeline.build(strategy, data, PipelineOptions(batch_size=batch), cache_root)
    return [(t1.numpy(), t2.numpy(), label.numpy()) for (t1, t2), label in ds]


def reference(data, batch: int = 4):
    samples = [read_index(data, i) for i in range(data.pairs)]
    return [
        tuple(np.stack([s[k] for s in samples[i : i + batch]]) for k in range(3))
        for i in range(0, data.pairs, batch)
    ]


@pytest.mark.parametrize("name", GRAPH_READERS)
@pytest.mark.parametrize(
    "mask_mode, suffix",
    [("1", ".png"), ("L", ".png"), ("L255", ".png"), ("RGB", ".png"), ("L255", ".jpg")],
)
def test_graph_readers_decode_as_the_shared_decoder(name, mask_mode, suffix, tmp_path):
    data = describe(write_dataset(tmp_path / "data", 6, mask_mode, suffix), "train")
    got, want = read_all(name, data, tmp_path / "cache"), reference(data)
    assert len(got) == len(want) == 2
    for g, w in zip(got, want, strict=True):
        for a, b in zip(g, w, strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_folder_mixing_png_and_jpeg_is_refused_naming_a_file(tmp_path):
    root = write_dataset(tmp_path / "data", 4, "L255")
    odd = root / "train" / "time2" / "p002.png"
    Image.open(odd).convert("RGB").save(odd.with_suffix(".jpg"), quality=90)
    odd.unlink()
    data = describe(root, "train")
    for name in [*GRAPH_READERS, "ceiling_decode"]:
        with pytest.raises(DatasetError, match=r"p002\.jpg: a JPEG file among 3 PNG files"):
            registry.create(name).prepare(data, tmp_path / "cache")


def garbled(png: bytes) -> bytes:
    """The same PNG with its image data zeroed: its header still reads (so 'data check'
    passes it), its pixels do not decode."""
    start = png.index(b"IDAT") + 4
    end = png.index(b"IEND") - 4
    return png[:start] + bytes(end - start) + png[end:]


def corrupt(path: Path) -> None:
    path.write_bytes(garbled(path.read_bytes()))


def test_files_names_the_file_it_cannot_decode(tmp_path):
    root = write_dataset(tmp_path / "data", 6, "L255")
    corrupt(root / "train" / "time2" / "p004.png")
    data = describe(root, "train")  # the header is intact: data check passes
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        read_all("files", data, tmp_path / "cache")
    strategy = registry.create("files")
    strategy.prepare(data, tmp_path / "cache")
    error = diagnosed(strategy, data, raised.value)
    assert isinstance(error, DatasetError)
    assert str(error).startswith(f"{root / 'train' / 'time2' / 'p004.png'}: not a PNG image")
    assert "replace or remove the file" in str(error)


def test_files_names_a_mask_of_other_values(tmp_path):
    root = write_dataset(tmp_path / "data", 4, "L")
    bad = root / "train" / "label" / "p001.png"
    Image.fromarray(np.full((SIZE, SIZE), 7, np.uint8)).save(bad)
    data = describe(root, "train")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"p001.*mask values must be"):
        read_all("files", data, tmp_path / "cache")


def test_tfrecord_png_names_the_shard_and_record_it_cannot_decode(tmp_path):
    root = write_dataset(tmp_path / "data", 8, "L255")
    data, cache = describe(root, "train"), tmp_path / "cache"
    read_all("tfrecord_png", data, cache)  # converts
    strategy = registry.create("tfrecord_png")
    strategy.prepare(data, cache)
    conversion = strategy.conversion
    shard = conversion.path(conversion.info["shards"][1])  # samples 1, 5 (4 shards)
    records = [r.numpy() for r in tf.data.TFRecordDataset(str(shard))]
    example = tf.train.Example.FromString(records[1])  # sample 5
    image = example.features.feature["time1"].bytes_list.value[0]
    example.features.feature["time1"].bytes_list.value[0] = garbled(image)
    records[1] = example.SerializeToString()
    with tf.io.TFRecordWriter(str(shard)) as writer:  # same size: the manifest passes it
        for record in records:
            writer.write(record)
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        read_all("tfrecord_png", data, cache)
    error = diagnosed(strategy, data, raised.value)
    assert isinstance(error, DatasetError)
    assert str(error).startswith(f"{shard}: record 1 (sample 'p005', time1): not a PNG image")
    assert f"delete {conversion.directory}" in str(error)


def test_tfrecord_png_names_a_shard_whose_record_is_damaged(tmp_path):
    root = write_dataset(tmp_path / "data", 8, "L255")
    data, cache = describe(root, "train"), tmp_path / "cache"
    strategy = registry.create("tfrecord_png")
    strategy.prepare(data, cache)
    shard = strategy.conversion.path(strategy.conversion.info["shards"][2])
    raw = bytearray(shard.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # a flipped byte: the record's checksum fails
    shard.write_bytes(bytes(raw))
    with pytest.raises(tf.errors.DataLossError) as raised:
        read_all("tfrecord_png", data, cache)
    error = diagnosed(strategy, data, raised.value)
    assert isinstance(error, DatasetError) and str(error).startswith(f"{shard}: record ")
    assert "cannot be read" in str(error) and "delete" in str(error)


def test_an_interrupted_tfrecord_png_conversion_is_never_used(tmp_path, monkeypatch):
    root = write_dataset(tmp_path / "data", 4, "L255")
    data, cache = describe(root, "train"), tmp_path / "cache"
    strategy = registry.create("tfrecord_png")
    monkeypatch.setattr(Path, "read_bytes", lambda self: (_ for _ in ()).throw(OSError("gone")))
    with pytest.raises(Exception, match="gone"):
        strategy.prepare(data, cache)
    monkeypatch.undo()
    assert not list((cache / "tfrecord_png").glob("train-*"))  # nothing left to trust
    assert len(read_all("tfrecord_png", data, cache)) == 1


def test_the_copy_ceiling_copies_each_batch(tiny_spec, tmp_path):
    """Its batches share no memory with the held arrays: changing the arrays after a
    batch was taken leaves the batch as it was. The control, the aliasing generator the
    ceiling used to be, fails the same check, so the check can fail."""
    ceiling = CopyCeiling()
    ceiling.prepare(tiny_spec, tmp_path / "cache")
    options = PipelineOptions(batch_size=5)
    taken = [(t1, t2, label) for (t1, t2), label in ceiling.batches(tiny_spec, options).take(2)]
    before = [tuple(np.array(t) for t in batch) for batch in taken]
    for array in ceiling.held:
        array ^= 0xFF
    for batch, was in zip(taken, before, strict=True):
        for tensor, values in zip(batch, was, strict=True):
            np.testing.assert_array_equal(tensor.numpy(), values)

    held = aligned_empty((10, 8, 8, 3))
    held[:] = 1
    aliased = tf.data.Dataset.from_generator(
        lambda: (held[i : i + 5] for i in (0, 5)),
        output_signature=tf.TensorSpec((None, 8, 8, 3), tf.uint8),
    )
    first = next(iter(aliased))
    held[:] = 2
    assert int(first.numpy().max()) == 2  # TensorFlow aliased the aligned array


def test_the_copy_ceiling_times_numpys_copy_of_the_same_batches(tiny_spec, tmp_path):
    ceiling = CopyCeiling()
    ceiling.prepare(tiny_spec, tmp_path / "cache")
    assert ceiling.reference_samples_per_s() is None  # nothing held yet
    ceiling.batches(tiny_spec, PipelineOptions(batch_size=5))
    rate = ceiling.reference_samples_per_s(min_s=0.05)
    assert rate is not None and rate > 0


@pytest.fixture(autouse=True)
def _no_leftovers(tmp_path):
    yield
    shutil.rmtree(tmp_path, ignore_errors=True)
