"""The subprocess's side of the test's ``Ready`` pipe (tests/benchmarks/runs.py)."""

from __future__ import annotations

import os


def say_ready(line: str) -> None:
    """Write ``line`` to the test's pipe, where it has one ($LOADBENCH_TEST_READY)."""
    path = os.environ.get("LOADBENCH_TEST_READY")
    if path:
        with open(path, "w") as pipe:
            pipe.write(f"{line}\n")
