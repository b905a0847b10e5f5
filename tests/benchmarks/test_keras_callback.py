"""The Keras callback: each epoch of a real ``fit`` a loadbench record of its input wait
against its compute and its process tree's peak, without changing what fit trains."""

from __future__ import annotations

import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from loadbench.harness.keras_callback import LoadbenchCallback
from loadbench.reports import jsonl
from loadbench.reports.html import write_report
from loadbench.reports.load import load

BATCHES, BATCH = 6, 4


def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(2, 3, activation="relu")(keras.layers.Rescaling(1 / 255)(inputs))
    built = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x)))
    built.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return built


def data(slow_s: float = 0.0) -> tf.data.Dataset:
    images = np.random.default_rng(0).integers(0, 255, (BATCHES * BATCH, 8, 8, 3), np.uint8)
    labels = (np.arange(BATCHES * BATCH) % 2).astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(BATCH)

    def slowly(x, y):
        time.sleep(slow_s)
        return x, y

    if slow_s:
        ds = ds.map(lambda x, y: tf.numpy_function(slowly, [x, y], (tf.uint8, tf.float32)))
        ds = ds.map(lambda x, y: (tf.ensure_shape(x, (None, 8, 8, 3)), tf.ensure_shape(y, (None,))))
    return ds


def test_each_epoch_is_a_record_of_its_batches_waits_and_memory(tmp_path):
    trained = model()
    callback = LoadbenchCallback(tmp_path / "out", name="tiny")
    trained.fit(data(), epochs=2, callbacks=[callback], verbose=0)
    records = jsonl.read(tmp_path / "out" / "results.jsonl")
    assert [r.strategy for r in records] == ["tiny epoch 1", "tiny epoch 2"]
    for record in records:
        assert (
            record.status == "ok" and record.mode == "train" and record.throughput.steps == BATCHES
        )
        assert (
            record.throughput.samples_per_s > 0
            and record.training.input_wait_s > 0
            and record.training.compute_s > 0
        )
        assert record.throughput.batch_bytes == BATCH * (8 * 8 * 3 + 4)
        assert record.memory.peak_rss_bytes is not None and record.memory.rss_timeline
        assert record.training.accelerator == "cpu" and record.training.accelerator_source == "real"
    assert trained.train_function.__name__ != "_timed"  # fit's own function is back
    report = write_report(load([tmp_path / "out" / "results.jsonl"]), tmp_path / "report", [])
    assert "tiny epoch 2" in report.read_text() and "a real model.fit" in report.read_text()


def test_fit_trains_the_same_weights_with_the_callback_as_without(tmp_path):
    plain, watched = model(), model()
    plain.fit(data(), epochs=2, verbose=0)
    watched.fit(data(), epochs=2, verbose=0, callbacks=[LoadbenchCallback(tmp_path)])
    for a, b in zip(plain.get_weights(), watched.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_a_slow_pipeline_is_input_bound_and_a_held_one_is_not(tmp_path):
    shares = {}
    for slow_s in (0.0, 0.05):  # 50 ms a batch against a step of about 2 ms
        callback = LoadbenchCallback(tmp_path / str(slow_s))
        model().fit(data(slow_s), epochs=2, callbacks=[callback], verbose=0)
        shares[slow_s] = callback.records[-1].training.input_bound_share  # epoch 2: traced already
    # Measured against each other in the same test: a loaded machine slows both.
    assert shares[0.05] > 0.8 and shares[0.0] < shares[0.05] - 0.25, shares
