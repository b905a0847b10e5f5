"""Encoded images decoded in TensorFlow ops: the decoder settings of every graph-native
reader of PNG or JPEG bytes (``files``, ``tfrecord_png``) and of ``ceiling_decode``.

The values equal the shared Python decoder's (``loadbench.loaders.dataset.images``, Pillow), so
these readers yield the same batches as every other strategy:

- RGB inputs: ``decode_png`` / ``decode_jpeg`` with 3 channels; JPEG with the accurate
  integer DCT, the one Pillow (libjpeg's default) uses.
- masks as ``read_mask`` makes them: the stored channels' maximum; JPEG thresholded at
  128; PNG values {0, 1} kept, {0, 255} divided by 255, anything else an error naming
  the sample.

One format per folder: ``decode_png`` cannot read a JPEG (nor the other way round), and
choosing the op per file would need the content sniffing that ``decode_image`` does at
a cost; a folder that mixes the two is refused by ``folder_formats`` naming a file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

import tensorflow as tf

from loadbench.loaders.dataset.images import JPEG_SUFFIXES
from loadbench.loaders.dataset.layout import ROLES, Split
from loadbench.loaders.errors import DatasetError

PNG = "png"
JPEG = "jpeg"
CHANNELS = {"time1": 3, "time2": 3, "label": 0}  # 0: as stored (masks: 1 or 3)


def file_format(path) -> str:
    return JPEG if str(path).lower().endswith(tuple(JPEG_SUFFIXES)) else PNG


def folder_formats(data: Split, reader: str) -> dict[str, str]:
    """The one encoding of each folder, from its files' suffixes.

    Raises DatasetError naming the first file of the rarer format where a folder holds
    both PNG and JPEG files.
    """
    formats = {}
    for folder in ROLES:
        paths = [getattr(s, folder) for s in data.samples]
        counts = Counter(file_format(p) for p in paths)
        if len(counts) > 1:
            (common, many), (rare, few) = counts.most_common()
            odd = next(p for p in paths if file_format(p) == rare)
            raise DatasetError(
                f"{odd}: a {rare.upper()} file among {many} {common.upper()} files in "
                f"{odd.parent} ({few} {rare.upper()} in all); {reader} decodes one format per "
                "folder: convert the folder to one format, or use a strategy that decodes "
                "each file as it finds it (generator, sequence, tfrecord, memmap)"
            )
        formats[folder] = next(iter(counts), PNG)
    return formats


def decode(encoded: tf.Tensor, fmt: str, channels: int) -> tf.Tensor:
    """One image's bytes to uint8 pixels, as ``fmt`` (PNG or JPEG)."""
    if fmt == JPEG:
        return tf.io.decode_jpeg(encoded, channels=channels, dct_method="INTEGER_ACCURATE")
    return tf.io.decode_png(encoded, channels=channels, dtype=tf.uint8)


def mask_values(decoded: tf.Tensor, fmt: str, name: tf.Tensor) -> tf.Tensor:
    """A decoded mask (1 or 3 channels) to (height, width, 1) uint8 in {0, 1}, as
    ``loadbench.loaders.dataset.images.read_mask`` makes it; ``name`` is in the error of a PNG
    mask whose values are neither {0, 1} nor {0, 255}."""
    mask = tf.reduce_max(decoded, axis=-1, keepdims=True)
    if fmt == JPEG:  # lossy: thresholded
        return tf.cast(mask >= 128, tf.uint8)
    binary = tf.reduce_all(mask <= 1)
    valid = tf.logical_or(binary, tf.reduce_all((mask == 0) | (mask == 255)))
    check = tf.debugging.Assert(
        valid, [name, "mask values must be {0, 1} or {0, 255}; found others"], summarize=1
    )
    with tf.control_dependencies([check]):
        return tf.where(binary, mask, mask // 255)


def sample_decoder(data: Split, formats: dict[str, str], masks: bool = True):
    """A function of a sample's three encoded images (and its name, for errors) to uint8
    ``(time1, time2, label)`` of the split's shape. ``masks=False`` decodes the label
    as stored, without ``mask_values`` (``ceiling_decode``: decoding alone)."""
    height, width = data.image_size

    def decode_sample(time1: tf.Tensor, time2: tf.Tensor, label: tf.Tensor, name: tf.Tensor):
        images = []
        for folder, encoded in zip(ROLES, (time1, time2, label), strict=True):
            image = decode(encoded, formats[folder], CHANNELS[folder])
            if folder == "label":
                image = mask_values(image, formats[folder], name) if masks else image[..., :1]
            images.append(tf.ensure_shape(image, (height, width, 3 if folder != "label" else 1)))
        return tuple(images)

    return decode_sample


def first_undecodable(
    items: Iterable[tuple[str, str, Callable[[], bytes]]], formats: dict[str, str], advice: str
) -> DatasetError | None:
    """The first of ``items`` (where it is, its folder, its bytes) that the graph decoder
    refuses, as an error naming it and saying what to do: TensorFlow's own decoding
    errors name no file, so a reader that hit one looks for the culprit this way."""
    for where, folder, encoded in items:
        fmt = formats[folder]
        try:
            image = decode(tf.constant(encoded()), fmt, CHANNELS[folder])
            if folder == "label":
                mask_values(image, fmt, tf.constant(where))
        except (tf.errors.InvalidArgumentError, OSError) as exc:
            reason = getattr(exc, "message", str(exc)).strip().splitlines()[0]
            return DatasetError(
                f"{where}: not a {fmt.upper()} image it can decode ({reason}); {advice}"
            )
    return None
