"""loadbench: which way of feeding training data to TensorFlow to use, and what it costs
in memory, speed and graph size.

The public API (everything else is the command line's and may move)::

    import loadbench

    record = loadbench.profile("mypipeline:make_dataset", steps=50)   # a typed Record
    print(record.throughput.samples_per_s, record.memory.peak_pss_bytes)
    model.fit(ds, callbacks=[loadbench.LoadbenchCallback("results", name="fit")])
    records = loadbench.read_results("loadbench-results/results.jsonl")

Importing the package is light (no TensorFlow, no pandas): each name is imported when
first used, so the pytest plugin that ships with it costs nothing at pytest's start.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

if importlib.util.find_spec("tensorflow") is None:
    raise ImportError(
        "loadbench needs TensorFlow, which is not installed in this environment: install "
        "loadbench with an extra, pip install 'loadbench[cpu]' (tensorflow-cpu), or "
        "'loadbench[gpu]' on a machine with an NVIDIA GPU (tensorflow[and-cuda])"
    )

from loadbench.loaders.errors import LoadbenchError

if TYPE_CHECKING:
    from loadbench.harness.keras_callback import LoadbenchCallback
    from loadbench.loaders.protocol import BatchStrategy, Strategy
    from loadbench.profiling import profile
    from loadbench.reports.load import read_results
    from loadbench.reports.records import Record

__version__ = "0.1.0"
__all__ = [
    "BatchStrategy",
    "LoadbenchCallback",
    "LoadbenchError",
    "Record",
    "Strategy",
    "profile",
    "read_results",
]

_WHERE = {
    "profile": "loadbench.profiling",
    "LoadbenchCallback": "loadbench.harness.keras_callback",
    "read_results": "loadbench.reports.load",
    "Record": "loadbench.reports.records",
    "Strategy": "loadbench.loaders.protocol",
    "BatchStrategy": "loadbench.loaders.protocol",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'loadbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
