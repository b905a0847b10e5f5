"""loadbench installed beside a project that has its own ``benchmarks`` and ``reports``
packages: the project's tests, its pytest-benchmark suite and a ``loadbench_profile``
test all pass under the ``pytest`` command, the plugin taking none of its names."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = {
    "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["benchmarks", "tests"]\n',
    "benchmarks/__init__.py": "",
    "benchmarks/speed.py": (
        "def sum_of_squares(values):\n    return sum(value * value for value in values)\n"
    ),
    "benchmarks/test_speed.py": (
        "from benchmarks.speed import sum_of_squares\n\n\n"
        "def test_sum_of_squares(benchmark):\n"
        "    assert benchmark(sum_of_squares, range(1000)) == 332_833_500\n"
    ),
    "reports/__init__.py": "",
    "reports/weekly.py": "def headline(done, total):\n    return f'{done} of {total} done'\n",
    "tests/test_weekly.py": (
        "from reports.weekly import headline\n\n\n"
        "def test_headline():\n    assert headline(3, 4) == '3 of 4 done'\n"
    ),
    "tests/test_pipeline.py": (
        "import tensorflow as tf\n\n\n"
        "def make():\n    return tf.data.Dataset.range(64).batch(8)\n\n\n"
        "def test_the_pipeline_runs(loadbench_profile):\n"
        "    record = loadbench_profile(make, steps=5, warmup=1)\n"
        "    assert record.status == 'ok'\n"
        "    assert record.throughput.samples_per_s > 0\n"
    ),
}


def pytest_command() -> str:
    found = shutil.which("pytest", path=os.path.dirname(sys.executable))
    if found is None:
        pytest.skip("the pytest command is not installed beside this interpreter")
    return found


@pytest.mark.slow
def test_a_project_with_its_own_benchmarks_and_reports_packages_passes(tmp_path):
    for name, text in PROJECT.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    output = tmp_path / "bench.json"
    done = subprocess.run(
        [pytest_command(), "-q", "-p", "no:cacheprovider", "--benchmark-json", str(output)],
        cwd=tmp_path,
        env=dict(os.environ),  # what the project's own shell has
        capture_output=True,
        text=True,
        timeout=300,
    )
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "3 passed" in said, said
    benchmarks = json.loads(Path(output).read_text())["benchmarks"]
    by_name = {b["name"]: b for b in benchmarks}
    assert set(by_name) == {"test_sum_of_squares", "test_the_pipeline_runs"}
    assert by_name["test_sum_of_squares"]["stats"]["rounds"] > 0
    record = by_name["test_the_pipeline_runs"]["extra_info"]
    assert record["status"] == "ok" and record["strategy"] == "test_pipeline:make"
