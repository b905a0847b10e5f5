"""Probes of the measured child besides the memory sampler: the serialized dataset
graph's size against the protobuf limit, and memray's tracker and peak."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from loadbench.reports.records import PROTOBUF_LIMIT_BYTES


def dataset_graph_size(ds, estimate_bytes: int) -> tuple[int, bool]:
    """(bytes of the serialized dataset graph, whether it exceeds the protobuf limit).

    Past 2 GiB, TensorFlow 2.21 logs "GraphDef exceeded maximum protobuf size of 2GB" and
    returns an empty string instead of raising; a real graph is never empty, so empty
    means over the limit, and the size is then the caller's estimate, never 0.
    """
    import tensorflow as tf

    # Its length, read in TensorFlow: the serialized string is never copied into Python
    # (a copy as large as the graph, and no part of what serializing costs a pipeline).
    size = int(tf.strings.length(ds._as_serialized_graph()))
    if not size:
        return max(estimate_bytes, PROTOBUF_LIMIT_BYTES), True
    return size, size >= PROTOBUF_LIMIT_BYTES


def memray_tracker(capture: str | None) -> contextlib.AbstractContextManager[Any]:
    """A memray Tracker writing ``capture`` (following forked workers), or nothing when no
    capture is asked for: tracking slows the pipeline, so it is a run of its own."""
    if capture is None:
        return contextlib.nullcontext()
    import memray

    Path(capture).unlink(missing_ok=True)
    return memray.Tracker(capture, native_traces=False, follow_fork=True)


def memray_peak_bytes(capture: str | None) -> int | None:
    """The main process's peak heap in a memray capture; None without one."""
    if capture is None:
        return None
    import memray

    return int(memray.FileReader(capture).metadata.peak_memory)
