"""The memory model: a run's steady-state peak RSS predicted from its dataset and options.

A pure function of a record. The shared pipeline's terms come from the options (batch
size, prefetch depth, shuffle buffer, cache) and the dataset (pairs, bytes per sample);
the strategy's own terms come from the ``memory_profile`` it declared in the run
(``loadbench.loaders.memory``). Each prediction keeps its terms, so a miss says which one.

Iterate mode only: in train mode the model's activations and gradients, which depend on
the network and not on the loader, add to the peak and are not predicted here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from loadbench.loaders.options import AUTOTUNE
from loadbench.reports.data_service import workers
from loadbench.reports.records import Record
from loadbench.reports.units import format_bytes

# Bytes per pixel value of a batch as the pipeline hands it over: uint8 for the device to
# scale, or float32 where the host's last map converts it (loadbench.loaders.pipeline.scale).
ELEMENT_BYTES = {"device": 1, "host": 4}
# tf.data's threads and allocator slack, scaled by nothing in the run (calibrated, as are
# the others here: docs/CALIBRATION.md).
RUNTIME_BYTES = 10_000_000
# Float batches alive besides the prefetch buffer: the one the consumer holds while the
# next is converted.
HELD_FLOAT_BATCHES = 2
# Iterating, the consumer keeps up: the prefetch buffer holds at most one batch.
PREFETCHED_BATCHES = 1
TOLERANCE = 0.25  # the bar of the default options


@dataclass(frozen=True)
class Prediction:
    """Predicted peak above baseline, and the terms it is the sum of (name -> bytes)."""

    peak_bytes: int
    terms: dict[str, int]
    why: str


def predict(record: Record) -> Prediction | None:
    """The predicted peak of one run, or None where the model does not apply (train mode,
    a strategy that declared no memory profile, a run through the tf.data service)."""
    profile = record.memory.memory_profile
    data = record.dataset
    options = record.options
    if record.mode != "iterate" or profile is None or not data.get("bytes_per_sample"):
        return None
    if workers(record) != 0:  # through the tf.data service: the peak covers the workers
        return None
    sample = int(data["bytes_per_sample"])
    pairs = int(data["pairs"])
    # A strategy that makes float32 samples itself (the seed's article) hands the
    # pipeline 4 bytes a pixel value: its cache, buffer and batches hold that much.
    element = int(profile.get("sample_element_bytes", 1))
    batch = int(options.get("batch_size", 32))
    batch_bytes = batch * sample
    prefetch = int(options.get("prefetch", AUTOTUNE))
    depth = PREFETCHED_BATCHES if prefetch == AUTOTUNE else min(prefetch, PREFETCHED_BATCHES)
    # Samples read by the end of the run: warm-up and measured batches, plus what the
    # prefetch and the strategy's own buffers had read ahead.
    ahead = depth + HELD_FLOAT_BATCHES + profile.get("staged_batches", 0)
    steps = (
        record.throughput.steps
        if record.throughput.steps is not None
        else int(options.get("steps", 0))
    )
    taken = int(options.get("warmup_steps", 0)) + steps
    read = (taken + ahead) * batch
    seen = min(pairs, read) * sample * element
    cached = seen if options.get("cache") == "memory" else 0
    # Records of schema 3 and older normalized on the host (loadbench.reports.records.upgrade).
    normalize = str(options.get("normalize", "host"))
    handed = max(ELEMENT_BYTES[normalize], element)
    float_bytes = (HELD_FLOAT_BATCHES + depth) * batch_bytes * handed
    # Keras forks a new pool of reader processes each epoch while the parent holds its
    # float batches, and they keep the old copy of each page it rewrites: the float
    # batches once more (calibrated). The pool restarts when tf.data pulls past the
    # epoch's last batch (the consumer's batches and what runs ahead, not the queue).
    pulled = (taken + depth + HELD_FLOAT_BATCHES) * batch
    reforked = profile.get("worker_processes", 0) > 0 and pulled > pairs
    shuffled = min(int(options.get("shuffle_buffer", 0)), pairs) * sample * element
    terms = {
        "decoded split": round(profile.get("split_copies", 0) * pairs * sample),
        "mapped pages": seen // element if profile.get("mapped_split") else 0,
        "in-memory cache": cached,
        # The cache comes before the shuffle, so the buffer holds the cache's own tensors
        # (shared, not copied): it adds only what the cache does not hold yet.
        "shuffle buffer": max(0, shuffled - cached),
        ("float batches" if handed > 1 else "batches handed over"): float_bytes,
        "batch being assembled": batch_bytes * element,
        "strategy's buffers": round(profile.get("staged_batches", 0) * batch_bytes),
        "workers forked again": float_bytes if reforked else 0,
        "runtime": RUNTIME_BYTES,
    }
    terms = {name: value for name, value in terms.items() if value}
    return Prediction(sum(terms.values()), terms, profile.get("why", ""))


def largest_terms(terms: dict[str, int], count: int = 3) -> str:
    """The ``count`` biggest terms of a prediction, in words: what the peak is made of."""
    biggest = sorted(terms.items(), key=lambda item: -item[1])[:count]
    return ", ".join(f"{name} {format_bytes(value)}" for name, value in biggest)


def table(records: list[Record]) -> pd.DataFrame:
    """Predicted against measured for every ok run the model applies to, one row each:
    strategy, mode, key (the same for every repeat of a measurement), pairs,
    dataset_bytes, options, measured, predicted, error (a fraction of the measured peak),
    within (|error| <= 25%), terms, why.

    Measured is the tree's peak RSS, or its peak PSS where the tree had several processes
    (forked workers share their parent's pages, which summed RSS counts once per worker).
    """
    rows = []
    for record in records:
        prediction = predict(record) if record.status == "ok" else None
        if prediction is None or not record.memory.peak_rss_bytes:
            continue
        measured = record.memory.peak_rss_bytes
        if (record.memory.tree_processes or 1) > 1 and record.memory.peak_pss_bytes:
            measured = record.memory.peak_pss_bytes
        error = (prediction.peak_bytes - measured) / measured
        rows.append(
            {
                "strategy": record.strategy,
                "mode": record.mode,
                "key": record.key(),
                "pairs": record.dataset.get("pairs"),
                "image_size": "x".join(map(str, reversed(record.dataset.get("image_size", [])))),
                "dataset_bytes": record.dataset["pairs"] * record.dataset["bytes_per_sample"],
                "options": record.options,
                "measured": measured,
                "predicted": prediction.peak_bytes,
                "error": error,
                "within": abs(error) <= TOLERANCE,
                "terms": prediction.terms,
                "why": prediction.why,
            }
        )
    return pd.DataFrame(rows)
