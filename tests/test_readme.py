"""The README is a front door that works as written: at most 250 lines, no commit hash,
and every command and Python block in it runs (the install commands are what CI runs
itself; ``loadbench run`` on the built-in dataset is the gate's and the suite's)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
# Blocks not run here: the two set-up commands (CI runs the test one on a clean clone)
# and the default run on the built-in dataset (minutes; .ci/gate and the suite run it).
NOT_RUN = ("pip install", "loadbench run\n")
# Blocks quick enough for the unit suite: they start no TensorFlow child.
QUICK = ("loadbench data ",)


def blocks(kind: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README.read_text()) if lang == kind]


def runnable(kind: str) -> list[str]:
    return [b for b in blocks(kind) if not any(marker in b for marker in NOT_RUN)]


def test_the_readme_is_a_front_door():
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    # A commit hash: 7 to 40 hex digits with a digit and a letter in it.
    hashes = [w for w in re.findall(r"\b[0-9a-f]{7,40}\b", text) if re.search(r"\d", w)]
    assert [w for w in hashes if re.search(r"[a-f]", w)] == []
    assert "farm-bench" not in text
    assert len(blocks("sh")) >= 5 and len(blocks("python")) >= 3


def test_the_set_up_commands_are_the_ones_ci_runs():
    install = [b for b in blocks("sh") if "pip install" in b]
    assert [b.strip().rsplit("&& ", 1)[-1] for b in install] == ["loadbench run", "pytest"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert install[1].strip() in ci


def _project(tmp_path: Path) -> dict[str, str]:
    """A working folder like the repository's root: the examples beside it, its own
    cache for converted files."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return {**os.environ, "LOADBENCH_CACHE": str(tmp_path / "cache"), "COLUMNS": "120"}


def _sh(block: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"{block}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_quick_command_blocks_run(tmp_path):
    env = _project(tmp_path)
    quick = [b for b in runnable("sh") if all(line.startswith(QUICK) for line in b.splitlines())]
    assert quick, "the README shows how to make and check a dataset"
    printed = "".join(_sh(block, tmp_path, env).stdout for block in quick)
    assert "train" in printed and "20" in printed


@pytest.mark.slow
def test_every_command_and_python_block_runs(tmp_path):
    env = _project(tmp_path)
    for block in runnable("sh"):
        _sh(block, tmp_path, env)
    assert (tmp_path / "current" / "results.jsonl").is_file()
    for number, block in enumerate(blocks("python")):
        script = tmp_path / f"readme_{number}.py"
        script.write_text(block)
        if "def test_" in block:  # the fixture's example: a test module for pytest
            test = tmp_path / f"test_readme_{number}.py"
            script.rename(test)
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test.name]
        else:
            command = [sys.executable, script.name]
        done = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{block}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
