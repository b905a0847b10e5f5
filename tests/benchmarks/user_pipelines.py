"""Users' own pipelines and models for ``loadbench profile``'s tests: good ones, and each
way one can be wrong."""

from __future__ import annotations

import keras
import tensorflow as tf

SAMPLES = 600
SHAPE = (128, 128, 4)  # 65,536 bytes a sample: 39.3 MB a pass
DATA_BYTES = SAMPLES * 128 * 128 * 4


def _sample(index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    seed = tf.stack([index, tf.constant(0, tf.int64)])
    image = tf.random.stateless_uniform(SHAPE, seed=seed, maxval=256, dtype=tf.int32)
    return tf.cast(image, tf.uint8), tf.cast(index % 2, tf.float32)


def arrays(cache: bool = False, batch: int = 20) -> tf.data.Dataset:
    ds = tf.data.Dataset.range(SAMPLES).map(_sample)
    return (ds.cache() if cache else ds).batch(batch)


def samples() -> tf.data.Dataset:
    return tf.data.Dataset.range(SAMPLES).map(_sample)  # unbatched


def pairs_as_dict() -> tf.data.Dataset:
    return arrays().map(lambda image, label: {"image": image, "label": label})


class Batches(keras.utils.PyDataset):
    def __len__(self) -> int:
        return 6

    def __getitem__(self, index: int):
        import numpy as np

        return np.zeros((5, *SHAPE), np.uint8), np.zeros((5,), np.float32)


def py_dataset() -> keras.utils.PyDataset:
    return Batches()


def model() -> keras.Model:
    inputs = keras.Input(SHAPE)
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, strides=4, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    built = keras.Model(inputs, keras.layers.Dense(1)(x))
    built.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return built


def uncompiled() -> keras.Model:
    inputs = keras.Input(SHAPE)
    return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs)))


def raises() -> tf.data.Dataset:
    raise ValueError("the bucket is empty")


def a_list() -> list[int]:
    return [1, 2, 3]


def wrong_shape() -> tf.data.Dataset:
    return tf.data.Dataset.range(8).map(lambda i: (tf.zeros((4, 8, 8, 3)), tf.zeros((4,))))


NOT_A_FUNCTION = 3
