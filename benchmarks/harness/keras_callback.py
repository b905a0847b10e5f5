"""``LoadbenchCallback``: the input-boundness and memory of a real ``model.fit``, an epoch
a loadbench record.

    from loadbench.harness.keras_callback import LoadbenchCallback
    model.fit(ds, epochs=3, callbacks=[LoadbenchCallback("loadbench-results", name="fit")])

Keras's TensorFlow trainer takes the next batch inside its compiled train function
(``iterator.get_next()`` in the graph), so no callback hook falls between waiting for
input and computing. While fit runs, this callback wraps ``model.train_function``: it
takes each batch from the iterator itself (timed: the wait for input), then hands it to
Keras's own function, which runs ``train_step`` on a batch it is given (timed to the
loss's value: the compute). The model, its loss, optimizer and ``steps_per_execution``
are Keras's own; ``on_train_end`` puts the function back.

Memory: the process tree's RSS and PSS (``TreeMemorySampler``) above a baseline taken
at ``on_train_begin`` (the model built, fit's data adapter made), peak per epoch.
The figures are the user's own process's, not an isolated child's: whatever else the
process holds moves with them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keras

from loadbench.harness.child.sampler import TreeMemorySampler
from loadbench.harness.parent.environment import environment
from loadbench.harness.procs import tree_pss_bytes, tree_rss_bytes
from loadbench.reports import jsonl
from loadbench.reports.records import FIT_ROOT, Measurement, Record
from loadbench.reports.stats import percentile


@dataclass
class _Epoch:
    waits: list[float] = field(default_factory=list)
    computes: list[float] = field(default_factory=list)
    batch_ends: list[float] = field(default_factory=list)
    samples: int = 0
    batch_bytes: int = 0
    began: float = 0.0
    started_at: str = ""


class LoadbenchCallback(keras.callbacks.Callback):
    """Per epoch of ``fit``: time waiting for input against computing, the process
    tree's peak PSS and RSS, appended to ``out/results.jsonl`` as a loadbench record
    (mode ``train``, ``strategy`` "NAME epoch N") as the epoch ends: ``report`` draws
    them and ``compare`` matches each epoch with the same epoch of a baseline fit."""

    def __init__(
        self, out: str | Path = "loadbench-results", name: str = "fit", interval_s: float = 0.05
    ) -> None:
        super().__init__()
        self.results = Path(out) / "results.jsonl"
        self.name = name
        self.interval_s = interval_s
        self.records: list[Record] = []
        self._original: Any = None
        self._epoch = _Epoch()
        self._sampler: TreeMemorySampler | None = None
        self._baseline = self._baseline_pss = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._original = self.model.train_function
        self.model.train_function = self._timed
        self._baseline = tree_rss_bytes(os.getpid())
        self._baseline_pss = tree_pss_bytes(os.getpid()) or 0

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._original is not None:
            self.model.train_function = self._original
        self._stop_sampler()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = _Epoch(
            began=time.perf_counter(),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self._sampler = TreeMemorySampler(self.interval_s).__enter__()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        sampler = self._stop_sampler()
        record = self._record(epoch, self._epoch, sampler)
        self.records.append(record)
        self.results.parent.mkdir(parents=True, exist_ok=True)
        jsonl.append(self.results, record)

    def _timed(self, iterator: Any) -> Any:
        """Keras's train function, the batches taken from ``iterator`` here (timed)."""
        import tensorflow as tf

        epoch = self._epoch
        batches = []
        asked = time.perf_counter()
        for _ in range(self.model.steps_per_execution):
            try:
                batches.append(next(iterator))
            except (StopIteration, tf.errors.OutOfRangeError):
                break
        arrived = time.perf_counter()
        if not batches:
            raise StopIteration
        outputs = self._original(iter(batches))
        _wait_for(outputs)
        ended = time.perf_counter()
        epoch.waits.append(arrived - asked)
        epoch.computes.append(ended - arrived)
        epoch.batch_ends.append(round(ended - epoch.began, 4))
        for batch in batches:
            leaves = tf.nest.flatten(batch)
            epoch.samples += int(leaves[0].shape[0]) if leaves and leaves[0].shape.rank else 1
            epoch.batch_bytes = epoch.batch_bytes or sum(
                int(t.shape.num_elements() or 0) * t.dtype.size for t in leaves
            )
        return outputs

    def _stop_sampler(self) -> TreeMemorySampler | None:
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.__exit__(None, None, None)
        return sampler

    def _record(self, epoch: int, seen: _Epoch, sampler: TreeMemorySampler | None) -> Record:
        from loadbench.workload import device

        steps = [w + c for w, c in zip(seen.waits, seen.computes, strict=True)]
        wait, compute = round(sum(seen.waits), 6), round(sum(seen.computes), 6)
        peak_pss = sampler.peak_pss_bytes() if sampler else None
        gpu = device.has_gpu()
        import tensorflow as tf

        measured = Measurement.of_figures(
            samples_per_s=seen.samples / sum(steps) if sum(steps) > 0 else None,
            first_batch_s=seen.batch_ends[0] if seen.batch_ends else None,
            step_p50_s=percentile(steps, 50),
            step_p95_s=percentile(steps, 95),
            steps=len(steps),
            baseline_rss_bytes=self._baseline,
            peak_rss_bytes=max(0, sampler.peak_bytes() - self._baseline) if sampler else None,
            baseline_pss_bytes=self._baseline_pss,
            peak_pss_bytes=max(0, peak_pss - self._baseline_pss) if peak_pss else None,
            tree_processes=sampler.most_processes if sampler else None,
            process_peaks=sampler.members() if sampler else [],
            input_wait_s=wait,
            compute_s=compute,
            input_bound_share=wait / (wait + compute) if wait + compute > 0 else None,
            accelerator="gpu" if gpu else "cpu",
            accelerator_source="real",
            accelerator_step_s=round(percentile(seen.computes, 50) or 0, 6) or None,
            accelerator_busy_share=compute / (wait + compute) if wait + compute > 0 else None,
            rss_timeline=sampler.timeline(self._baseline) if sampler else [],
            batch_ends_s=seen.batch_ends,
            batch_bytes=seen.batch_bytes or None,
        )
        return Record.of(
            measured,
            strategy=f"{self.name} epoch {epoch + 1}",
            mode="train",
            status="ok",
            dataset={
                "root": FIT_ROOT,
                "split": None,
                "pairs": None,
                "image_size": None,
                "pipeline": self.name,
            },
            options={"steps_per_execution": int(self.model.steps_per_execution)},
            env=environment(device.gpu_name() if gpu else None, tf.__version__),
            started_at=seen.started_at,
            wall_s=round(time.perf_counter() - seen.began, 3),
        )


def _wait_for(outputs: Any) -> None:
    """Block until the step that made ``outputs`` has run (on a GPU, ops run async)."""
    import tensorflow as tf

    for leaf in tf.nest.flatten(outputs):
        if hasattr(leaf, "numpy"):
            leaf.numpy()
            return
