"""What a strategy keeps in memory, declared by the strategy itself in units the memory
model (``loadbench.reports.memory_model``) scales by the run: copies of the split, a
memory-mapped split, and batch-sized buffers of its own. No TensorFlow here: records carry
it as a dict.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class MemoryProfile:
    """A strategy's own memory, beyond what the shared pipeline holds.

    split_copies: copies of the whole decoded split held at the peak (uint8 bytes).
    mapped_split: the split is read through a memory map, so every page read stays
        resident (and counted in RSS) up to the whole file.
    staged_batches: uint8 batch-sized buffers the strategy holds itself (a worker queue,
        blocks read ahead), at the run's options.
    worker_processes: processes the strategy forks to read, again at each epoch (a
        PyDataset's workers with use_multiprocessing: Keras starts a new pool per epoch).
        Forked while the parent holds batches, they keep the old copy of every page the
        parent then rewrites (copy-on-write).
    sample_element_bytes: bytes per pixel value of the samples the strategy hands the
        pipeline: 1 for uint8 (every built-in strategy), 4 where it makes float32
        itself, so a cache, the shuffle buffer and the batches after it hold 4x as much.
    why: one line saying where those figures come from.
    """

    split_copies: float = 0.0
    mapped_split: bool = False
    staged_batches: float = 0.0
    worker_processes: int = 0
    sample_element_bytes: int = 1
    why: str = ""

    def __post_init__(self) -> None:
        if self.sample_element_bytes not in (1, 2, 4, 8):
            raise ValueError(
                f"MemoryProfile: sample_element_bytes={self.sample_element_bytes}: must be "
                "the size of a pixel value's type (1 for uint8, 4 for float32)"
            )
        if self.split_copies < 0 or self.staged_batches < 0 or self.worker_processes < 0:
            raise ValueError(
                f"MemoryProfile: split_copies={self.split_copies}, staged_batches="
                f"{self.staged_batches}, worker_processes={self.worker_processes}: counts "
                "must be 0 or more"
            )
