"""What a loading strategy is: prepare once, then read the split into tf.data.

A strategy knows nothing about measurement or about the pipeline options it does not
need: batching, shuffling, caching, float conversion and prefetching are applied by
``loadbench.loaders.pipeline`` the same way for every strategy.

Every strategy subclasses ``Strategy`` (it yields samples) or ``BatchStrategy`` (it
yields batches itself). What a strategy may add beyond reading is declared once, in
``Capabilities``, with a default that does nothing (as grain's ``Stats`` has its
``_NoopStats``): a strategy overrides what it has, and the harness calls each one
without asking whether it is there.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import tensorflow as tf

    from loadbench.loaders.dataset.layout import Split
    from loadbench.loaders.memory import MemoryProfile
    from loadbench.loaders.options import PipelineOptions


class Capabilities:
    """What every strategy has, each with its do-nothing default."""

    name: ClassVar[str] = ""
    # The whole split sits in its address space while reading (decoded arrays, or a
    # memory map of the whole file): allocation profilers such as memray then count the
    # dataset's size however little of it is resident, and the benchmark suite bounds
    # the memray peak only of the strategies without it.
    maps_whole_dataset: ClassVar[bool] = False
    # It decodes image files as it reads: its throughput is read against the machine's
    # decode ceiling (``loadbench.loaders.strategies.ceilings``), else the copy ceiling.
    decodes_while_reading: ClassVar[bool] = False
    # A preset's strategy that reproduces someone's pipeline as written (the seed's
    # ``article``) may yield float32 samples it scaled itself: the shared pipeline then
    # leaves them as they are.
    yields_floats: ClassVar[bool] = False
    # One of the machine's ceilings (``ceilings``), not a strategy to choose.
    ceiling: ClassVar[bool] = False

    def prepare(self, data: Split, cache_root: Path) -> None:
        """One-time work before reading (a conversion); nothing for direct readers."""
        return None

    def diagnose(self, data: Split, error: Exception) -> Exception | None:
        """Called with a TensorFlow error raised while its batches were read: an error
        naming the file (or converted record) responsible and what to do, or None where
        it finds none. TensorFlow's decoding errors name no file; a diagnosis may take its
        time (it runs once, after the failure)."""
        return None

    def memory_profile(self, data: Split, options: PipelineOptions) -> MemoryProfile | None:
        """What it holds in memory itself, which the memory model adds to the shared
        pipeline's buffers to predict its peak; None: its runs get no prediction."""
        return None

    def pairing(self, data: Split) -> dict[str, Any] | None:
        """Where it pairs files its own way rather than by name (the article's
        zip(sorted)): triples, mispaired and dropped files, kept in the record."""
        return None

    def reference_samples_per_s(self) -> float | None:
        """A ceiling's outside instrument: the same work without tf.data, in the same
        child (None: it has none, or it has not read anything yet)."""
        return None


class Strategy(Capabilities, abc.ABC):
    """Yields per-sample uint8 ``(time1, time2, label)`` elements in name order."""

    @abc.abstractmethod
    def samples(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        """Unbatched uint8 samples in ``data.names`` order (undecoded records where the
        strategy has ``parse_batch``)."""

    def parse_batch(self, data: Split) -> Callable[[Any], Any] | None:
        """A function from a batch of undecoded records to uint8 ``(time1, time2,
        label)`` batches: ``samples`` then yields each sample undecoded (one record, its
        bytes), the shared pipeline batches those and maps this on each batch, one op per
        batch instead of one per sample. None: ``samples`` yields decoded samples."""
        return None


class BatchStrategy(Capabilities, abc.ABC):
    """Yields uint8 batches itself, in the order ``loadbench.loaders.pipeline.epoch_order``
    gives: for readers that own their batching and workers (a Keras PyDataset), and the
    ceilings."""

    @abc.abstractmethod
    def batches(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        """Batches ``((time1, time2), label)`` of uint8."""
