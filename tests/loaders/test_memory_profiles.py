"""Every built-in strategy declares what it holds, in the model's units."""

from __future__ import annotations

import pytest

from loadbench.loaders import registry
from loadbench.loaders.memory import MemoryProfile
from loadbench.loaders.options import PipelineOptions


@pytest.mark.parametrize("name", registry.names())
def test_each_strategy_declares_its_memory(name, tiny_spec):
    profile = registry.create(name).memory_profile(tiny_spec, PipelineOptions())
    assert isinstance(profile, MemoryProfile) and profile.why


def test_profiles_follow_the_options(tiny_spec):
    two = PipelineOptions(parallelism=2, prefetch=4)
    assert registry.create("tensor_slices").memory_profile(tiny_spec, two).split_copies == 2
    memmap = registry.create("memmap").memory_profile(tiny_spec, two)
    assert memmap.mapped_split and memmap.staged_batches == 0  # the pipeline's map holds them
    sequence = registry.create("sequence").memory_profile(tiny_spec, two)
    assert sequence.staged_batches == 2 + 4 / 2  # a batch per worker, the queue half full


def test_a_negative_count_is_refused():
    with pytest.raises(ValueError, match="split_copies=-1"):
        MemoryProfile(split_copies=-1)
