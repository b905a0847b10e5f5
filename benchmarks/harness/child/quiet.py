"""Import TensorFlow without the two lines its C++ runtime writes to stderr at load.

TensorFlow 2.21 writes "WARNING: All log messages before absl::InitializeLog() is called
are written to STDERR" and oneDNN's "custom operations are on" notice while it loads,
twice, whatever ``TF_CPP_MIN_LOG_LEVEL`` says (abseil logs before TensorFlow has read
it). Each measurement's child would print them; a run of eighteen would open with
seventy lines of them. The load runs with file descriptor 2 sent to a temporary file,
and everything else written there is passed on to stderr as it was.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile

NOISE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "oneDNN custom operations are on.",
)


def import_quietly(module: str = "tensorflow") -> None:
    """Import ``module`` (TensorFlow, or what imports it first), dropping only the lines
    of ``NOISE`` that its load writes to file descriptor 2."""
    if module in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            importlib.import_module(module)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().decode(errors="replace").splitlines(keepends=True):
                if not any(noise in line for noise in NOISE):
                    sys.stderr.write(line)
            sys.stderr.flush()
