"""What the fork server imports before it forks any measurement (``runner``).

Importing is all it does: TensorFlow, Keras, the measuring child and every built-in
strategy's module are loaded, and nothing has run, so no TensorFlow runtime thread, no
session, no device exists to be inherited by a fork (TensorFlow is not fork-safe once
it has run anything). Each child then starts in about half a second instead of the
3.5 s a spawned interpreter spends importing them.

``gc.freeze()`` then: the objects imported here are moved out of the garbage
collector's reach, so a child's collections do not write to (and copy) the pages it
shares with the server. Last, ``Startup``: the file pages the server has mapped, which
it then releases and each forked child maps again before its baseline (``pages``); a
forked child enters through ``run``, which hands them to ``child_main``.
"""

# ruff: noqa: E402 (TensorFlow is imported quietly first, then everything that imports it)
from __future__ import annotations

import gc
import os
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # read once, when TensorFlow loads
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from loadbench.harness.child.quiet import import_quietly

import_quietly("tensorflow")  # without its two start-up lines on stderr (quiet)

import keras  # noqa: F401
import numpy  # noqa: F401
import PIL.Image  # noqa: F401
import psutil  # noqa: F401
import tensorflow  # noqa: F401

import loadbench.harness.child.measure
import loadbench.harness.child.probes
import loadbench.harness.child.sampler
import loadbench.loaders.pipeline
import loadbench.workload.device
import loadbench.workload.train_step  # noqa: F401
from loadbench.harness.child import pages
from loadbench.harness.child.entry import Setting, Startup, child_main
from loadbench.loaders import registry

for _target in [
    *registry.BUILTIN.values(),
    *registry.CEILINGS.values(),
    *registry.PRESET_STRATEGIES.values(),
]:
    __import__(_target.split(":")[0])

gc.freeze()
_STARTUP = Startup(resident=pages.resident_file_pages())
pages.release(_STARTUP.resident)  # mapped by the children only: none of them shares it


def run(spec: Any, result_path: str, work: Any, setting: Setting) -> None:
    """A forked child's entry: ``child_main`` with what this server knows."""
    child_main(spec, result_path, work, setting, startup=_STARTUP)
