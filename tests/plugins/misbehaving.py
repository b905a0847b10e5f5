"""Strategies that fail in every way a real one can, for the runner's tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
from ready import say_ready

from loadbench.loaders.strategies.generator import Generator


class Raises(Generator):
    name = "raises"

    def prepare(self, data, cache_root):
        raise ValueError(f"cannot read {data.root}")


class Aborts(Generator):
    name = "aborts"

    def samples(self, data, options):
        print("F0000 fake_op.cc:1] Check failed: pretend native failure", file=sys.stderr)
        sys.stderr.flush()
        os.abort()


class KilledByOOM(Generator):
    name = "oom_killed"

    def samples(self, data, options):
        os.kill(os.getpid(), signal.SIGKILL)


class Sleeps(Generator):
    name = "sleeps"

    def samples(self, data, options):
        time.sleep(600)


class SleepsWithWorker(Generator):
    """Starts a worker process, then hangs: both must go when the run is stopped."""

    name = "sleeps_with_worker"

    def samples(self, data, options):
        # Not at the sampler's first instant: a process caught between fork and exec
        # shows its parent's whole RSS (summed RSS double-counts shared pages).
        time.sleep(0.2)
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        say_ready(str(worker.pid))
        time.sleep(600)


class Hog(Generator):
    """Touches 1.5 GB while building, to cross a memory ceiling."""

    name = "hog"

    def samples(self, data, options):
        self.ballast = np.ones(1_500_000_000, np.uint8)
        time.sleep(600)


class Calibrated(Generator):
    """Allocates and touches a known size during the measured loop, then frees it."""

    name = "calibrated"
    size_bytes = 500_000_000

    def samples(self, data, options):
        ballast = np.ones(self.size_bytes, np.uint8)
        time.sleep(0.3)  # several sampler periods with the ballast held
        del ballast
        return super().samples(data, options)


# A bare interpreter, no TensorFlow: the worker's resident memory is its 300 MB plus
# about 10 MB of Python, so the tree probe's figure can be checked closely.
HUNGRY_WORKER = """
import sys, time
ballast = bytearray(300_000_000)
for offset in range(0, len(ballast), 4096):
    ballast[offset] = 1
print("ready", flush=True)
time.sleep(float(sys.argv[1]))
"""


class SpawnsHungryChild(Generator):
    """Starts a worker process that holds 300 MB, as PyDataset workers would."""

    name = "hungry_child"

    def samples(self, data, options):
        # Not at the sampler's first instant: a process caught between fork and exec
        # shows its parent's whole RSS (summed RSS double-counts shared pages).
        time.sleep(0.2)
        worker = subprocess.Popen(
            [sys.executable, "-c", HUNGRY_WORKER, "3.0"], stdout=subprocess.PIPE, text=True
        )
        worker.stdout.readline()  # the 300 MB are touched
        self.worker = worker
        time.sleep(0.5)  # several sampler periods, and a tree rescan, with the worker holding it
        return super().samples(data, options)


SHARED_BYTES = 200_000_000


class ForksSharing(Generator):
    """Touches 200 MB, then forks two processes that hold it shared (copy-on-write, as
    a PyDataset's forked workers share their parent's pages): the tree's PSS holds it
    once, its summed RSS three times."""

    name = "forks_sharing"

    def samples(self, data, options):
        block = np.ones(SHARED_BYTES, np.uint8)
        forked = []
        for _ in range(2):
            pid = os.fork()
            if pid == 0:  # a child that only holds the pages: no TensorFlow runs here
                time.sleep(1.5)
                os._exit(0)
            forked.append(pid)
        time.sleep(1.2)  # a PSS read a second while the tree shares anonymous pages
        for pid in forked:
            os.waitpid(pid, 0)
        del block
        return super().samples(data, options)
