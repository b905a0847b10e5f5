"""What a loading strategy is: prepare once, then read the split into tf.data.

A strategy knows nothing about measurement or about the pipeline options it does not
need: batching, shuffling, caching, float conversion and prefetching are applied by
``loadbench.loaders.pipeline`` the same way for every strategy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import tensorflow as tf

    from loadbench.loaders.dataset.layout import Split
    from loadbench.loaders.options import PipelineOptions


@runtime_checkable
class Strategy(Protocol):
    """Yields per-sample uint8 ``(time1, time2, label)`` elements in name order.

    A strategy may also set the class attribute ``maps_whole_dataset = True`` when the
    whole split sits in its address space while reading (decoded arrays, or a memory map
    of the whole file): allocation profilers such as memray then count the dataset's size
    however little of it is resident, and the benchmark suite bounds the memray peak only
    of the strategies without it. Absent means False.

    It may also set ``decodes_while_reading = True`` when it decodes image files as it
    reads: its throughput is then read against the machine's decode ceiling
    (``loadbench.loaders.strategies.ceilings``), otherwise against the copy ceiling.

    It may also define ``parse_batch(data) -> function``: ``samples`` then yields each
    sample undecoded (one record, e.g. its bytes), the shared pipeline batches those and
    maps the function on each batch of records to uint8 ``(time1, time2, label)``
    batches: vectorised parsing, one op per batch instead of one per sample.

    It may also define ``diagnose(data, error) -> DatasetError | None``: called with a
    TensorFlow error raised while its batches were read, it returns an error naming the
    file (or converted record) responsible and what to do, or None where it finds none.
    TensorFlow's decoding errors name no file; a diagnosis may take its time (it runs
    once, after the failure).

    It may also define ``memory_profile(data, options) -> loadbench.loaders.memory.MemoryProfile``:
    what it holds in memory itself, which the memory model adds to the shared pipeline's
    buffers to predict its peak. Without it, its runs get no prediction.

    A preset's strategy that reproduces someone's pipeline as written (the seed's
    ``article``) may break two of these rules, and says so: ``yields_floats = True``
    when its samples are float32 it scaled itself (the shared pipeline then leaves them
    as they are), and ``pairing(data) -> dict`` when it pairs files its own way rather
    than by name (the record keeps what it returns: triples, mispaired, dropped).
    """

    name: str

    def prepare(self, data: Split, cache_root: Path) -> None:
        """One-time work before reading (a conversion); a no-op for direct readers."""

    def samples(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        """Unbatched uint8 samples in ``data.names`` order (undecoded records where the
        strategy defines ``parse_batch``)."""


@runtime_checkable
class BatchStrategy(Protocol):
    """Yields uint8 batches itself, in the order ``loadbench.loaders.pipeline.epoch_order`` gives.

    For readers that own their batching and workers (a Keras PyDataset).
    """

    name: str

    def prepare(self, data: Split, cache_root: Path) -> None: ...

    def batches(self, data: Split, options: PipelineOptions) -> tf.data.Dataset: ...
