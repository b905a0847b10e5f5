"""Batches from every strategy go through the one training step."""

from __future__ import annotations

import numpy as np
import pytest

from loadbench.loaders import pipeline, registry
from loadbench.loaders.options import PipelineOptions
from loadbench.workload.train_step import TrainStep

STRATEGIES = [*registry.names(), "outside_strategy:IndexedReader"]


@pytest.fixture(scope="module")
def step(tiny_spec) -> TrainStep:
    return TrainStep(tiny_spec.image_size, width=2)


@pytest.mark.parametrize("name", STRATEGIES)
def test_one_step_on_each_strategy_batch(name, step, tiny_spec, cache_root):
    strategy = registry.create(name)
    strategy.prepare(tiny_spec, cache_root)
    ds = pipeline.build(strategy, tiny_spec, PipelineOptions(batch_size=4), cache_root)
    (time1, time2), label = next(iter(ds))
    before = [w.numpy().copy() for w in step.model.trainable_weights]
    loss = float(step(time1, time2, label))
    after = [w.numpy() for w in step.model.trainable_weights]
    assert np.isfinite(loss) and loss > 0
    changed = sum(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert changed == len(before)  # Adam moves every trainable weight on its first steps
    assert step.tracing_count == 1  # the same compiled step for every strategy


def seen_by_the_model(step, time1, time2, label):
    (time1, time2), label = step.model_inputs(time1, time2, label)
    return [time1.numpy(), time2.numpy(), label.numpy()]


@pytest.mark.parametrize("name", STRATEGIES)
def test_device_and_host_normalisation_give_the_model_equal_inputs(name, tiny_spec, cache_root):
    strategy = registry.create(name)
    strategy.prepare(tiny_spec, cache_root)
    sides = {}
    for side in ("device", "host"):
        options = PipelineOptions(batch_size=4, normalize=side)
        ds = pipeline.build(strategy, tiny_spec, options, cache_root)
        step = TrainStep(tiny_spec.image_size, width=2, normalize=side)
        sides[side] = [seen_by_the_model(step, *t, label) for t, label in ds]
        batch = next(iter(ds))
        assert batch[0][0].dtype == ("uint8" if side == "device" else "float32")
    device, host = sides["device"], sides["host"]
    assert len(device) == len(host) == -(-tiny_spec.pairs // 4)
    for got, want in zip(device, host, strict=True):
        for g, w in zip(got, want, strict=True):
            assert g.dtype == w.dtype == np.float32
            np.testing.assert_array_equal(g, w)
