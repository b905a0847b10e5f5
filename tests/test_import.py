"""``import loadbench`` is light, and says which extra to install where TensorFlow is
missing. Each in a fresh interpreter: this one has imported both long ago."""

from __future__ import annotations

import json
import subprocess
import sys


def fresh(code: str, cwd) -> subprocess.CompletedProcess:
    """``code`` in a new interpreter started in ``cwd`` (away from the checkout's folders)."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_import_loadbench_imports_neither_tensorflow_nor_pandas(tmp_path):
    done = fresh(
        "import json, sys, loadbench\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    assert "loadbench" in loaded
    assert loaded & {"tensorflow", "pandas", "keras"} == set()


def test_without_tensorflow_the_import_error_names_the_extra(tmp_path):
    done = fresh(
        "import sys\n"
        "sys.modules['tensorflow'] = None  # as if it were not installed\n"
        "try:\n"
        "    import loadbench\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
        "else:\n"
        "    print('imported')\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "loadbench[cpu]" in done.stdout
    assert "loadbench needs TensorFlow" in done.stdout
