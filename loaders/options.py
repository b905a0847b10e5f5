"""Pipeline options: orthogonal to the strategy, applied by shared code to every one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from loadbench.loaders.errors import OptionsError

AUTOTUNE = -1
CacheMode = Literal["none", "memory", "file"]
CACHE_MODES: tuple[str, ...] = ("none", "memory", "file")
Normalize = Literal["device", "host"]
NORMALIZE_MODES: tuple[str, ...] = ("device", "host")


@dataclass(frozen=True, kw_only=True)
class PipelineOptions:
    """How batches are assembled, whatever the strategy that reads the samples.

    batch_size: samples per batch; the last batch of an epoch may be smaller unless
        drop_remainder. 32 is the common default of tf.data and Keras examples.
    shuffle_buffer: samples held in the shuffle buffer; 0 turns shuffling off, a value
        of at least the split's size is a full shuffle. Each buffer slot costs one
        decoded sample of memory, which is why the default is off.
    seed: seed of the shuffle, so a shuffled run is reproducible.
    cache: "none"; "memory" keeps every decoded sample in RAM after the first epoch;
        "file" writes them to a temporary file under the work directory.
    prefetch: batches prepared ahead of the consumer; AUTOTUNE (-1) lets tf.data pick,
        0 disables prefetching.
    parallelism: parallel calls for decoding and conversion maps (and PyDataset
        workers); AUTOTUNE (-1) lets tf.data pick (the CPU count for PyDataset); 1 makes
        the shared float conversion a plain map, which computes nothing ahead.
    deterministic: keep the element order fixed even with parallel maps; turning it
        off may be faster, at the cost of the same-batches guarantee.
    use_multiprocessing: PyDataset workers are processes instead of threads.
    normalize: where uint8 pixels become the model's float32 inputs. "device": batches
        leave the pipeline as uint8 and the training step scales them inside its compiled
        function, on its device (a quarter of the bytes to hand over, and no per-batch
        host conversion); "host": a per-batch float map at the end of the pipeline, what
        most pipelines do, kept so that a report shows what it costs.
    """

    batch_size: int = 32
    shuffle_buffer: int = 0
    seed: int = 0
    cache: CacheMode = "none"
    prefetch: int = AUTOTUNE
    parallelism: int = AUTOTUNE
    deterministic: bool = True
    drop_remainder: bool = False
    use_multiprocessing: bool = False
    normalize: Normalize = "device"

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise OptionsError(f"batch_size={self.batch_size}: must be at least 1")
        if self.shuffle_buffer < 0:
            raise OptionsError(
                f"shuffle_buffer={self.shuffle_buffer}: must be 0 (off) or a number of samples"
            )
        if self.cache not in CACHE_MODES:
            raise OptionsError(f"cache={self.cache!r}: must be one of {', '.join(CACHE_MODES)}")
        if self.normalize not in NORMALIZE_MODES:
            raise OptionsError(
                f"normalize={self.normalize!r}: must be one of {', '.join(NORMALIZE_MODES)}"
            )
        for field in ("prefetch", "parallelism"):
            value = getattr(self, field)
            if value < AUTOTUNE or (field == "parallelism" and value == 0):
                raise OptionsError(
                    f"{field}={value}: must be AUTOTUNE (-1) or a positive count"
                    + (" or 0" if field == "prefetch" else "")
                )

    @property
    def workers(self) -> int:
        """Worker count for strategies that run their own pool (PyDataset)."""
        if self.parallelism == AUTOTUNE:
            return os.cpu_count() or 1
        return self.parallelism


def parse_count(text: str, field: str) -> int:
    """Parse "auto" (AUTOTUNE) or a non-negative integer from the command line."""
    if text.strip().lower() in {"auto", "autotune"}:
        return AUTOTUNE
    try:
        value = int(text)
    except ValueError:
        raise OptionsError(f"--{field} {text!r}: expected 'auto' or a whole number") from None
    if value < 0:
        raise OptionsError(f"--{field} {value}: expected 'auto' or a number >= 0")
    return value
