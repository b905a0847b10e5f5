"""One contract, every strategy: registered built-ins and one plugged in from outside.

A new strategy gets these tests by registering.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import tensorflow as tf

from loadbench.loaders import pipeline, registry
from loadbench.loaders.dataset.images import read_index
from loadbench.loaders.options import PipelineOptions

STRATEGIES = [*registry.names(), "outside_strategy:IndexedReader"]
BATCH = 5


def batches(name, spec, options, cache_root, epochs=1):
    strategy = registry.create(name)
    strategy.prepare(spec, cache_root)
    ds = pipeline.build(strategy, spec, options, cache_root)
    out = []
    for _ in range(epochs):
        out.append([(t1.numpy(), t2.numpy(), label.numpy()) for (t1, t2), label in ds])
    return out


def expected_batches(spec, batch_size, normalize="device"):
    """The reference: decode in name order, batch, and (normalized on the host) scale.
    Independent of tf.data."""
    samples = [read_index(spec, i) for i in range(spec.pairs)]
    out = []
    for start in range(0, spec.pairs, batch_size):
        chunk = samples[start : start + batch_size]
        t1, t2, label = (np.stack([s[k] for s in chunk]) for k in range(3))
        if normalize == "device":  # uint8, as read: the training step scales it
            out.append((t1, t2, label))
            continue
        scale = np.float32(1 / 255)
        out.append(
            (t1.astype(np.float32) * scale, t2.astype(np.float32) * scale, label.astype(np.float32))
        )
    return out


def sample_key(t1: np.ndarray) -> str:
    """Identity of a sample from its time1 image, float [0, 1] or uint8."""
    if t1.dtype != np.uint8:
        t1 = np.rint(t1 * 255).astype(np.uint8)
    return hashlib.sha1(t1.tobytes()).hexdigest()


@pytest.mark.parametrize("normalize", ["device", "host"])
@pytest.mark.parametrize("name", STRATEGIES)
def test_unshuffled_batches_equal_the_reference(name, normalize, tiny_spec, cache_root):
    options = PipelineOptions(batch_size=BATCH, normalize=normalize)
    got = batches(name, tiny_spec, options, cache_root)[0]
    want = expected_batches(tiny_spec, BATCH, normalize)
    assert [b[2].shape[0] for b in got] == [5, 5, 5, 5, 3]  # last partial batch kept
    assert len(got) == len(want)
    for (g1, g2, gl), (w1, w2, wl) in zip(got, want, strict=True):
        for g, w in ((g1, w1), (g2, w2), (gl, wl)):
            assert g.dtype == (np.uint8 if normalize == "device" else np.float32)
            assert g.shape == w.shape
            np.testing.assert_array_equal(g, w)
    assert set(np.unique(np.concatenate([b[2].ravel() for b in got]))) <= {0, 1}


@pytest.mark.parametrize("name", STRATEGIES)
def test_shuffled_epochs_hold_each_sample_once(name, tiny_spec, cache_root):
    options = PipelineOptions(batch_size=BATCH, shuffle_buffer=8, seed=3)
    epochs = batches(name, tiny_spec, options, cache_root, epochs=2)
    everything = sorted(sample_key(read_index(tiny_spec, i)[0]) for i in range(tiny_spec.pairs))
    orders = []
    for epoch in epochs:
        keys = [sample_key(t1[k]) for t1, _, _ in epoch for k in range(t1.shape[0])]
        assert sorted(keys) == everything
        orders.append(keys)
    in_order = [
        sample_key(b[0][k])
        for b in expected_batches(tiny_spec, BATCH)
        for k in range(b[0].shape[0])
    ]
    assert orders[0] != in_order  # actually shuffled
    assert orders[0] != orders[1]  # reshuffled each epoch


@pytest.mark.parametrize("name", STRATEGIES)
def test_shuffle_is_reproducible_for_a_seed(name, tiny_spec, cache_root):
    options = PipelineOptions(batch_size=BATCH, shuffle_buffer=30, seed=11)
    first = batches(name, tiny_spec, options, cache_root)[0]
    second = batches(name, tiny_spec, options, cache_root)[0]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a[0], b[0])


@pytest.mark.parametrize("name", STRATEGIES)
def test_drop_remainder_drops_the_partial_batch(name, tiny_spec, cache_root):
    options = PipelineOptions(batch_size=BATCH, drop_remainder=True)
    got = batches(name, tiny_spec, options, cache_root)[0]
    assert [b[0].shape[0] for b in got] == [5, 5, 5, 5]


@pytest.mark.parametrize("cache", ["memory", "file"])
@pytest.mark.parametrize("name", ["generator", "tfrecord"])
def test_cache_modes_keep_the_batches(name, cache, tiny_spec, cache_root):
    options = PipelineOptions(batch_size=BATCH, cache=cache)
    epochs = batches(name, tiny_spec, options, cache_root, epochs=2)
    want = expected_batches(tiny_spec, BATCH)
    for epoch in epochs:
        for got, ref in zip(epoch, want, strict=True):
            np.testing.assert_array_equal(got[0], ref[0])


def test_sequence_refuses_a_tf_data_cache(tiny_spec, cache_root):
    from loadbench.loaders.errors import OptionsError

    strategy = registry.create("sequence")
    with pytest.raises(OptionsError, match="cache='memory'"):
        pipeline.build(strategy, tiny_spec, PipelineOptions(cache="memory"), cache_root)


def test_sequence_workers_in_processes_give_the_same_batches(tiny_spec, cache_root):
    options = PipelineOptions(batch_size=BATCH, parallelism=2, use_multiprocessing=True)
    got = batches("sequence", tiny_spec, options, cache_root, epochs=2)
    want = expected_batches(tiny_spec, BATCH)
    for epoch in got:
        for g, w in zip(epoch, want, strict=True):
            np.testing.assert_array_equal(g[0], w[0])


def test_epoch_order_matches_tf_data_buffer_semantics():
    """A buffer of 1 keeps order; a full buffer permutes; epochs differ; all indices kept."""
    assert list(pipeline.epoch_order(10, PipelineOptions(shuffle_buffer=1), 0)) == list(range(10))
    full = PipelineOptions(shuffle_buffer=100, seed=1)
    a, b = pipeline.epoch_order(50, full, 0), pipeline.epoch_order(50, full, 1)
    assert sorted(a) == list(range(50)) and sorted(b) == list(range(50))
    assert list(a) != list(b)
    local = pipeline.epoch_order(1000, PipelineOptions(shuffle_buffer=4, seed=0), 0)
    # With a 4-slot buffer an index can only come out a few places early.
    assert all(position >= index - 3 for position, index in enumerate(local))


def test_tensor_slices_holds_one_uint8_copy(tiny_spec, tmp_path, monkeypatch):
    """The dataset's tensors share the arrays read from the raw rows: no second copy."""
    from loadbench.loaders.strategies import held, tensor_slices

    loaded = []
    read = tensor_slices.read_arrays

    def keep(*args):
        loaded.append(read(*args))
        return loaded[-1]

    monkeypatch.setattr(tensor_slices, "read_arrays", keep)
    strategy = tensor_slices.TensorSlices()
    strategy.prepare(tiny_spec, tmp_path / "cache")
    ds = strategy.samples(tiny_spec, PipelineOptions())
    arrays = loaded[0]
    assert all(a.dtype == np.uint8 for a in arrays)
    assert sum(a.nbytes for a in arrays) == tiny_spec.total_bytes
    assert all(a.ctypes.data % held.TF_ALIGNMENT == 0 for a in arrays)
    before = next(iter(ds))[0].numpy().copy()
    arrays[0][0] = 255 - arrays[0][0]  # a change to the array shows in the dataset
    after = next(iter(ds))[0].numpy()
    np.testing.assert_array_equal(after, 255 - before)
    assert ds.element_spec[0].dtype == tf.uint8
