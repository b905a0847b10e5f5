"""When a run's memory has settled: the plateau, not the ramp.

A pipeline's memory climbs while its buffers fill, its caches take in the split and its
allocators grow their arenas, then holds. A run that stops on the climb reports less than
a long training job lives with. So the measured phase may go on until the process tree's
peak has grown by less than ``SHARE`` of itself (or ``FLOOR_BYTES``, whichever is larger)
over the last ``WINDOW_S`` seconds and ``BATCHES`` batches, and, where the pipeline
caches what it reads, until a whole epoch of the split has passed; ``max_s`` caps it.

Why these: 1% of the peak is under the spread between repeats of one tree (5% is the
summary's threshold for a peak that "differs"), so a run called settled could not move a
decision by growing on; the floor keeps a small pipeline's peak (tens of MB) from waiting
on page-by-page allocator noise, and is well under the gate's 16 MB floor. Eight seconds
and ten batches: a pipeline's memory grows in steps seconds apart (buffers filling,
glibc's per-thread arenas, with AUTOTUNE or fixed settings alike: files training held
144 MB from 5.6 s to 16.5 s, then 152),
and only a window this long lands on the plateau that 30 s runs reach. Replayed on the
recorded timelines of two sets of 24 runs of 30 s (four strategies, both modes, three
repeats: docs/probes/settle_replay.py), the rule's median peak fell within the 30 s
runs' range or 5% of their median for 2 and 2 of 8 strategy-modes with a 2 s window, 6
and 5 with 5 s, 8 and 7 with 8 s (docs/measurement.md).
``SHORT_WINDOW_S`` is for commands that compare many short runs of one pipeline with
each other (``tune``'s trials, ``diagnose``'s stages), where each run's ramp is alike.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

SHARE = 0.01
FLOOR_BYTES = 2_000_000
WINDOW_S = 8.0
SHORT_WINDOW_S = 2.0
BATCHES = 10


@dataclass(frozen=True, kw_only=True)
class Settling:
    """What a run waits for before its memory counts as settled."""

    max_s: float  # the measured phase's cap: a run that has not settled by then says so
    epoch_samples: int = 0  # samples of one whole epoch, where the pipeline caches them
    window_s: float = WINDOW_S
    batches: int = BATCHES
    share: float = SHARE
    floor_bytes: int = FLOOR_BYTES

    def settled(
        self,
        samples: list[tuple[float, int]],
        baseline: int,
        batch_times: Sequence[float],
        seen: int,
    ) -> bool:
        """Whether the tree's memory (``samples``: (seconds, bytes) from the sampler, the
        same clock as ``batch_times``, each measured batch's end) has held over the window,
        with ``seen`` samples of the split taken so far."""
        if not samples or seen < self.epoch_samples:
            return False
        now = samples[-1][0]
        since = now - self.window_s
        if len(batch_times) - bisect.bisect_right(batch_times, since) < self.batches:
            return False
        before = [b for t, b in samples if t <= since]
        if not before:
            return False
        peak = max(b for _, b in samples) - baseline
        grown = peak - (max(before) - baseline)
        return grown <= max(self.share * peak, self.floor_bytes)
