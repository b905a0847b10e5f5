"""Helpers shared by the harness's tests: a run's spec on the tiny dataset, its
measurement in an isolated child, and a subprocess the test can Ctrl-C."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from pathlib import Path

from loadbench.harness.parent.runner import run_isolated
from loadbench.harness.spec import RunSpec
from loadbench.loaders.options import PipelineOptions
from loadbench.reports.records import Measurement


def spec_for(strategy: str, root, cache_root, **kwargs) -> RunSpec:
    """An iterating run of ``strategy`` on the tiny dataset: 1 warm-up and 4 batches of 4."""
    fields = dict(
        strategy=strategy,
        mode="iterate",
        data_root=str(root),
        split="train",
        synthetic=True,
        options=PipelineOptions(batch_size=4),
        cache_root=str(cache_root),
        steps=4,
        warmup_steps=1,
    )
    fields.update(kwargs)
    return RunSpec(**fields)


def measured(spec: RunSpec, timeout_s: float = 180) -> Measurement:
    """``spec`` run in its own child, which must end ok: its measurement."""
    outcome = run_isolated(spec, timeout_s=timeout_s)
    assert outcome.status == "ok", outcome.error
    return outcome.result.measurement


def interruptible() -> None:
    """``preexec_fn`` of a process the test will Ctrl-C: SIGINT back to its default. A
    shell's background job (``cmd &``) starts with SIGINT ignored and passes that on, so
    under such a job the interrupted command would never see the signal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Ready:
    """A named pipe that a test's subprocess (or a child of it) writes one line to when
    it has reached the point the test waits for: the test blocks on the pipe, not on a
    sleep. The subprocess finds the pipe's path in ``$LOADBENCH_TEST_READY``."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "ready.fifo"
        os.mkfifo(self.path)
        self._read = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self._held = os.open(self.path, os.O_WRONLY)  # no end of file before the line

    def env(self) -> dict[str, str]:
        return {"LOADBENCH_TEST_READY": str(self.path)}

    def wait(self, timeout_s: float, process: subprocess.Popen | None = None) -> str:
        """The line written (without its newline), within ``timeout_s``; fails at once
        if ``process`` ends first."""
        deadline = time.monotonic() + timeout_s
        got = b""
        while not got.endswith(b"\n"):
            left = deadline - time.monotonic()
            assert left > 0, f"{self.path}: nothing written in {timeout_s:.0f} s"
            readable, _, _ = select.select([self._read], [], [], min(left, 1.0))
            if readable:
                got += os.read(self._read, 4096)
            elif process is not None:
                assert process.poll() is None, process.communicate()
        return got.decode().strip()

    def close(self) -> None:
        os.close(self._read)
        os.close(self._held)
