"""``sequence``: a Keras 3 ``PyDataset`` (successor of ``tf.keras.utils.Sequence``).

Batches are assembled in Python by ``__getitem__`` and fetched by Keras's own
enqueuer, which honours ``workers`` (threads) and ``use_multiprocessing`` (processes),
exactly as ``model.fit`` would run it. The batch order comes from the shared
``epoch_order``, so with shuffling off it matches every other strategy.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from loadbench.loaders.dataset.images import read_index, sample_shapes
from loadbench.loaders.dataset.layout import Split
from loadbench.loaders.memory import MemoryProfile
from loadbench.loaders.options import PipelineOptions
from loadbench.loaders.pipeline import batch_slices, epoch_order, sample_signature
from loadbench.loaders.protocol import BatchStrategy

try:  # The adapter is what model.fit uses to run a PyDataset's workers; Keras 3 keeps
    # it under keras.src without a public alias, so its absence is reported clearly.
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter
except ImportError as exc:  # pragma: no cover - depends on the installed Keras
    raise ImportError(
        f"sequence strategy needs Keras 3's PyDatasetAdapter ({exc}); install keras>=3.10"
    ) from exc


def queue_size(options: PipelineOptions) -> int:
    """Batches the enqueuer keeps ready: the prefetch depth, or Keras's default of 10."""
    return options.prefetch if options.prefetch > 0 else 10


class PairDataset(keras.utils.PyDataset):
    """Batches of decoded uint8 samples; the order is reshuffled at each epoch's end."""

    def __init__(self, data: Split, options: PipelineOptions) -> None:
        super().__init__(
            workers=options.workers,
            use_multiprocessing=options.use_multiprocessing,
            max_queue_size=queue_size(options),
        )
        self.data = data
        self.options = options
        self.slices = batch_slices(data.pairs, options)
        self.epoch = 0
        self.order = epoch_order(data.pairs, options, self.epoch)

    def __len__(self) -> int:
        return len(self.slices)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        indices = self.order[self.slices[index]]
        shapes = sample_shapes(self.data)
        time1, time2, label = (np.empty((len(indices), *s), np.uint8) for s in shapes)
        batch = (time1, time2, label)
        for row, sample in enumerate(indices):
            for array, part in zip(batch, read_index(self.data, int(sample)), strict=True):
                array[row] = part
        return batch

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = epoch_order(self.data.pairs, self.options, self.epoch)


class Sequence(BatchStrategy):
    """Run a ``PairDataset`` through Keras's enqueuer and hand its batches to tf.data."""

    name = "sequence"
    decodes_while_reading = True  # measured against ceiling_decode

    def prepare(self, data: Split, cache_root: Path) -> None:
        """Nothing to convert: files are decoded by the PyDataset's workers."""

    def memory_profile(self, data: Split, options: PipelineOptions) -> MemoryProfile:
        queue = queue_size(options)
        processes = options.workers if options.use_multiprocessing else 0
        kind = "worker process" if processes else "worker thread"
        return MemoryProfile(
            # The queue's half: calibrated (docs/CALIBRATION.md).
            staged_batches=options.workers + queue / 2,
            worker_processes=processes,
            why=f"a batch being built per {kind} ({options.workers}), and the enqueuer's "
            f"queue of {queue} batches, about half full (calibrated)"
            + (
                "; past the first epoch, the worker processes forked again keep the "
                "parent's float batches (calibrated)"
                if processes
                else ""
            ),
        )

    def batches(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        py_dataset = PairDataset(data, options)
        adapter = PyDatasetAdapter(py_dataset, shuffle=False)

        def one_epoch():
            # A finished epoch stops the enqueuer; the next iteration restarts it with
            # the reshuffled order (worker processes get the updated dataset).
            yield from adapter.get_numpy_iterator()
            py_dataset.on_epoch_end()

        return tf.data.Dataset.from_generator(
            one_epoch, output_signature=sample_signature(data, batched=True)
        )
