"""The ``loadbench`` command: in-process through ``main(argv)`` and as installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.cli import main


def test_synth_then_check_in_process(tmp_path, capsys):
    out = tmp_path / "ds"
    argv = ["data", "synth", "--out", str(out), "--pairs", "10", "--size", "32"]
    assert main([*argv, "--splits", "train=0.8,val=0.2", "--workers", "1"]) == 0
    assert "wrote 10 pairs of 32x32" in capsys.readouterr().out
    assert main(["data", "check", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["train", "8", "32x32", "7,168", "57.3", "KB"]
    assert lines[2].split() == ["val", "2", "32x32", "7,168", "14.3", "KB"]


def test_check_reports_each_broken_split_and_exits_2(tiny_root, tmp_path, capsys):
    root = Path(shutil.copytree(tiny_root, tmp_path / "data"))
    shutil.copytree(root / "train", root / "val")
    (root / "val" / "label" / "000003.png").unlink()
    corrupt = root / "train" / "time2" / "000005.png"
    corrupt.write_bytes(corrupt.read_bytes()[:200])
    assert main(["data", "check", str(root)]) == 2
    out = capsys.readouterr().out
    assert f"{corrupt}: unreadable or corrupt image" in out
    assert "val/label: missing names present in the other folders: 000003 (1)" in out
    assert "2 of 2 split(s) failed the check" in out


def test_errors_print_one_line_without_traceback(tmp_path, capsys):
    assert main(["data", "check", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"loadbench: error: {tmp_path / 'absent'}: no such dataset directory"


def test_bad_option_names_the_value(tmp_path, capsys):
    argv = ["data", "synth", "--out", str(tmp_path), "--pairs", "0", "--size", "32"]
    assert main(argv) == 2
    assert "--pairs 0: must be at least 1" in capsys.readouterr().err


def loadbench() -> list[str]:
    found = shutil.which("loadbench", path=os.path.dirname(sys.executable))
    if found is None:
        pytest.skip("the loadbench command is not installed in this environment")
    return [found]


@pytest.mark.slow
def test_installed_command_runs_every_strategy_and_resumes(tiny_root, tmp_path):
    from benchmarks import records

    loaders = "tensor_slices,generator,sequence,tfrecord,memmap,outside_strategy:IndexedReader"
    argv = [*loadbench(), "run", "--data", str(tiny_root), "--batch-size", "5", "--steps", "2"]
    argv += ["--warmup", "1", "--mode", "iterate", "--loaders", loaders]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "plugins")}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    written = records.read(tmp_path / "out" / "results.jsonl")
    assert [r.strategy for r in written] == loaders.split(",")
    assert all(r.status == "ok" and r.samples_per_s > 0 for r in written)
    assert all(r.gpu_peak_bytes is None and r.env["cpu_count"] for r in written)
    again = subprocess.run(
        [*argv, "--resume"], capture_output=True, text=True, env=env, timeout=300
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already recorded, skipped") == 6
    assert len(records.read(tmp_path / "out" / "results.jsonl")) == 6


def test_installed_command_exits_2_on_bad_data(tmp_path):
    (tmp_path / "train" / "time1").mkdir(parents=True)
    done = subprocess.run(
        [*loadbench(), "data", "check", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "no split found" in done.stderr
    assert "Traceback" not in done.stderr
