"""fixed_length: memmap's raw file read by TensorFlow ops alone, the same batches."""

from __future__ import annotations

import numpy as np

from loadbench.loaders import pipeline, registry
from loadbench.loaders.options import PipelineOptions


def all_batches(name, spec, cache_root, options):
    strategy = registry.create(name)
    strategy.prepare(spec, cache_root)
    return [
        (t1.numpy(), t2.numpy(), label.numpy())
        for (t1, t2), label in pipeline.build(strategy, spec, options, cache_root)
    ]


def test_yields_exactly_the_batches_of_memmap_from_the_same_file(tiny_spec, cache_root):
    options = PipelineOptions(batch_size=5, shuffle_buffer=8, seed=3)
    memmap = all_batches("memmap", tiny_spec, cache_root, options)
    fixed = all_batches("fixed_length", tiny_spec, cache_root, options)
    assert len(fixed) == len(memmap) == 5
    for ours, theirs in zip(fixed, memmap, strict=True):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a, b)
    # one conversion on disk serves both
    assert len(list((cache_root / "memmap").iterdir())) == 1
    assert not (cache_root / "fixed_length").exists()


def test_its_graph_has_no_python(tiny_spec, cache_root):
    strategy = registry.create("fixed_length")
    strategy.prepare(tiny_spec, cache_root)
    ds = pipeline.build(strategy, tiny_spec, PipelineOptions(batch_size=5), cache_root)
    graph = ds._as_serialized_graph().numpy()
    assert b"FixedLengthRecordDataset" in graph
    assert b"PyFunc" not in graph and b"EagerPyFunc" not in graph
