"""A small compiled Keras model for ``examples/arrays.py``'s batches: ``loadbench profile
--model examples/model.py:small_cnn`` puts each batch through its own ``train_step``
(its loss and optimizer)."""

from __future__ import annotations

import keras


def small_cnn(shape: tuple[int, int, int] = (256, 256, 4)) -> keras.Model:
    """uint8 images scaled on the device, two convolutions, one logit; compiled."""
    inputs = keras.Input(shape)
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return model
