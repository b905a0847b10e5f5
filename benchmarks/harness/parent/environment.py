"""The ``env`` of a record: versions, CPU, GPU and commit, read without importing TF."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import psutil


def _version(*names: str) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


@functools.cache
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.cache
def git_commit() -> str | None:
    """The commit of the loadbench checkout, or None when installed from a wheel."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def environment(gpu_name: str | None = None, tf_version: str | None = None) -> dict:
    return {
        "tensorflow": tf_version or _version("tensorflow", "tensorflow-cpu"),
        "loadbench": _version("loadbench"),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "ram_bytes": psutil.virtual_memory().total,
        "gpu": gpu_name,
        "commit": git_commit(),
        "hostname": platform.node(),
    }
