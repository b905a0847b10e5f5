"""The ``loadbench`` command: in-process through ``main(argv)`` and as installed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from statistics import median

import psutil
import pytest
from runs import Ready, interruptible

from loadbench.cli import main

# One run per measurement and no ceilings: the repeats and ceilings have their own test.
ONCE = ("--repeats", "1", "--no-ceilings")
# The same without waiting for memory to settle (test_settle holds that): for the tests
# of what the command does around its runs (resume, killing, Ctrl-C, memray).
FIRST_LOOK = ("--fast",)


def installed_run(tiny_root, tmp_path) -> list[str]:
    """The installed ``loadbench run`` on the tiny dataset, once, 2 steps of 5, not waiting
    for memory to settle, with its cache and output under ``tmp_path``."""
    argv = [*loadbench(), "run", "--data", str(tiny_root), *FIRST_LOOK, "--batch-size", "5"]
    argv += ["--steps", "2", "--cache-dir", str(tmp_path / "cache")]
    return [*argv, "--out", str(tmp_path / "out")]


def test_synth_then_check_in_process(tmp_path, capsys):
    out = tmp_path / "ds"
    argv = ["data", "synth", "--out", str(out), "--pairs", "10", "--size", "32"]
    assert main([*argv, "--splits", "train=0.8,val=0.2", "--jobs", "1"]) == 0
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


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--max-time", "0"], "--max-time 0: must be more than 0"),
        (["--max-time", "-3"], "--max-time -3: must be more than 0"),
        (["--min-time", "5", "--max-time", "2"], "at least --min-time (5 s)"),
    ],
)
def test_a_cap_of_no_time_or_under_the_floor_is_refused_before_any_run(
    tiny_root, tmp_path, flags, said, capsys
):
    argv = ["run", "-d", str(tiny_root), "-l", "generator", "-o", str(tmp_path / "out"), *flags]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert said in err and "e.g. --max-time 30" in err
    assert not (tmp_path / "out" / "results.jsonl").exists()


def loadbench() -> list[str]:
    found = shutil.which("loadbench", path=os.path.dirname(sys.executable))
    if found is None:
        pytest.skip("the loadbench command is not installed in this environment")
    return [found]


def group_members(group: int) -> list[str]:
    """Processes still in process group ``group`` (led by a command that has ended)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if os.getpgid(process.pid) == group:
                found.append(" ".join(process.info["cmdline"] or []))
        except (ProcessLookupError, PermissionError):
            continue
    return found


@pytest.mark.slow
def test_installed_command_runs_every_strategy_and_resumes(tiny_root, tmp_path):
    from loadbench.reports import jsonl

    loaders = "tensor_slices,generator,sequence,tfrecord,memmap,outside_strategy:IndexedReader"
    argv = installed_run(tiny_root, tmp_path)
    argv += ["--warmup", "1", "--mode", "iterate", "--loaders", loaders]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "plugins")}
    suite = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    _, err = suite.communicate(timeout=300)
    assert suite.returncode == 0, err
    assert group_members(suite.pid) == []  # nothing it started outlives it
    written = jsonl.read(tmp_path / "out" / "results.jsonl")
    assert [r.strategy for r in written] == loaders.split(",")
    assert all(r.status == "ok" and r.throughput.samples_per_s > 0 for r in written)
    assert all(r.memory.gpu_peak_bytes is None and r.env["cpu_count"] for r in written)
    again = subprocess.run(
        [*argv, "--resume"], capture_output=True, text=True, env=env, timeout=300
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already recorded, skipped") == 6
    assert len(jsonl.read(tmp_path / "out" / "results.jsonl")) == 6


def test_installed_command_exits_2_on_bad_data(tmp_path):
    (tmp_path / "train" / "time1").mkdir(parents=True)
    done = subprocess.run(
        [*loadbench(), "data", "check", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "no split found" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_run_without_steps_uses_the_per_mode_defaults(tiny_root, tmp_path, capsys):
    from loadbench.harness.parent.plan import DEFAULT_MIN_TIME, DEFAULT_STEPS, DEFAULT_WARMUP
    from loadbench.reports import jsonl

    argv = ["run", "--data", str(tiny_root), *ONCE, "--mode", "iterate", "--loaders", "generator"]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]
    argv += ["--max-time", "1"]  # the steps' defaults, not the settled peak (test_settle)
    assert main(argv) == 0
    [record] = jsonl.read(tmp_path / "out" / "results.jsonl")
    assert record.status == "ok", record.error
    assert record.options["steps"] == DEFAULT_STEPS["iterate"]
    assert record.options["warmup_steps"] == DEFAULT_WARMUP["iterate"]
    # The steps, then on until the measured batches span the time floor.
    assert record.options["min_measured_s"] == DEFAULT_MIN_TIME["iterate"]
    assert record.throughput.steps >= DEFAULT_STEPS["iterate"]
    warmup = DEFAULT_WARMUP["iterate"]
    measured_s = record.throughput.batch_ends_s[-1] - record.throughput.batch_ends_s[warmup - 1]
    assert len(record.throughput.batch_ends_s) == warmup + record.throughput.steps
    assert record.throughput.steps == DEFAULT_STEPS["iterate"] or measured_s >= 0.99
    out = capsys.readouterr().out
    assert "[1/1] iterate  generator" in out
    assert Path(record.log).is_file()  # TensorFlow's chatter went to the run's log
    report = tmp_path / "out" / "report" / "index.html"
    assert f"report: {report}" in out and "generator" in report.read_text()


def test_run_exits_1_when_no_child_could_start(tiny_root, tmp_path, monkeypatch, capsys):
    from multiprocessing.context import ForkServerProcess, SpawnProcess

    from loadbench.reports import jsonl

    def refuse(self):
        raise OSError(11, "Resource temporarily unavailable")

    for started in (ForkServerProcess, SpawnProcess):  # either start method
        monkeypatch.setattr(started, "start", refuse)
    argv = ["run", "--data", str(tiny_root), *ONCE, "--mode", "iterate", "--loaders", "generator"]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]
    assert main(argv) == 1
    [record] = jsonl.read(tmp_path / "out" / "results.jsonl")
    assert record.status == "error"
    assert "could not start the child process" in record.error


def start_suite(tiny_root, tmp_path, loaders: str, ready: Ready) -> subprocess.Popen:
    """``loadbench run`` in the background, with the test plugins importable and the
    ``ready`` pipe for the hanging run to say its worker's pid on."""
    argv = installed_run(tiny_root, tmp_path)
    argv += ["--warmup", "1", "--mode", "iterate", "--loaders", loaders, "--timeout", "300"]
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).parents[1] / "plugins"),
        **ready.env(),
    }
    return subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=interruptible,
    )


def wait_for_hung_worker(suite: subprocess.Popen, ready: Ready, timeout_s: float = 120) -> list:
    """Wait until the hanging run's worker exists; return the suite's whole tree."""
    worker = int(ready.wait(timeout_s, suite))
    family = psutil.Process(suite.pid).children(recursive=True)
    assert worker in {p.pid for p in family}
    return family


def assert_all_gone(processes: list, timeout_s: float = 15) -> None:
    _, alive = psutil.wait_procs(processes, timeout=timeout_s)
    assert not alive, [p.cmdline() for p in alive]


@pytest.mark.slow
def test_killed_parent_keeps_records_leaves_no_process_and_resume_goes_on(tiny_root, tmp_path):
    from loadbench.reports import jsonl

    out = tmp_path / "out" / "results.jsonl"
    ready = Ready(tmp_path)
    suite = start_suite(tiny_root, tmp_path, "generator,misbehaving:SleepsWithWorker", ready)
    family = wait_for_hung_worker(suite, ready)
    suite.kill()  # SIGKILL: the parent gets no chance to clean up
    suite.communicate()
    assert_all_gone(family)  # the run's child and its worker went with it
    [kept] = jsonl.read(out)
    assert (kept.strategy, kept.mode, kept.status) == ("generator", "iterate", "ok")
    argv = installed_run(tiny_root, tmp_path)
    argv += ["--warmup", "1", "--loaders", "generator", "--resume"]
    resumed = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.count("already recorded, skipped") == 1  # iterate, not train
    assert [(r.mode, r.status) for r in jsonl.read(out)] == [("iterate", "ok"), ("train", "ok")]
    again = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert again.stdout.count("already recorded, skipped") == 2  # train with its picked width
    assert len(jsonl.read(out)) == 2


@pytest.mark.slow
def test_ctrl_c_stops_the_suite_and_leaves_no_process(tiny_root, tmp_path):
    from loadbench.reports import jsonl

    ready = Ready(tmp_path)
    suite = start_suite(tiny_root, tmp_path, "generator,misbehaving:SleepsWithWorker", ready)
    family = wait_for_hung_worker(suite, ready)
    suite.send_signal(signal.SIGINT)  # what Ctrl-C sends to the foreground process
    _, err = suite.communicate(timeout=60)
    assert suite.returncode == 130
    assert "the 1 run(s) finished so far are in" in err and "--resume" in err
    assert "Traceback" not in err
    assert_all_gone(family)
    assert len(jsonl.read(tmp_path / "out" / "results.jsonl")) == 1


@pytest.mark.slow
def test_memray_adds_a_tracked_run_with_its_flame_graph(tiny_root, tmp_path):
    from loadbench.reports import jsonl

    argv = ["run", "--data", str(tiny_root), *FIRST_LOOK, "--mode", "iterate"]
    argv += ["--loaders", "generator", "--steps", "2", "--warmup", "1", "--memray"]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    [record] = jsonl.read(tmp_path / "out" / "results.jsonl")
    assert record.status == "ok", record.error
    assert record.memory.memray_peak_bytes > 0
    flamegraph = Path(record.memray_flamegraph)
    assert flamegraph.read_text().lstrip().lower().startswith("<!doctype html")
    assert flamegraph.with_suffix(".bin").stat().st_size > 0  # the capture is kept


@pytest.mark.slow
def test_sweep_reuses_the_largest_dataset_and_fits_each_strategy(tmp_path, capsys):
    from loadbench.reports import jsonl

    argv = ["sweep", "--pair-counts", "40,20", "--size", "32"]
    argv += ["--loaders", "tensor_slices,generator", "--steps", "2", "--warmup", "1"]
    argv += ["--batch-size", "4", "--ram", "16GB"]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    written = jsonl.read(tmp_path / "out" / "results.jsonl")
    assert sorted((r.dataset["pairs"], r.strategy) for r in written) == [
        (20, "generator"),
        (20, "tensor_slices"),
        (40, "generator"),
        (40, "tensor_slices"),
    ]
    assert all(r.status == "ok" for r in written)
    smaller = tmp_path / "cache" / "datasets" / "synthetic-20x32-seed0" / "train" / "time1"
    assert (smaller / "000000.png").stat().st_nlink >= 2  # linked from the 40-pair one
    out = capsys.readouterr().out
    assert "iterate  tensor_slices    dataset_graph_bytes" in out
    line = next(x for x in out.splitlines() if "tensor_slices    dataset_graph_bytes" in x)
    assert "(the 2 GiB graph limit)" in line  # it grows with the data: a break point
    assert " 7,168 " in line  # graph bytes per pair: the 32x32 pair's 7,168 bytes
    line = next(x for x in out.splitlines() if "generator        dataset_graph_bytes" in x)
    assert "never: does not grow with the data" in line
    assert "memory model (iterate mode" in out
    assert len([x for x in out.splitlines() if x.startswith(("tensor_slices ", "generator "))]) == 4
    report = (tmp_path / "out" / "report" / "index.html").read_text()
    assert "Growth with the data" in report and "16.0 GB of RAM" in report


@pytest.mark.slow
def test_repeats_run_in_rounds_after_the_ceilings_and_resume_by_repeat(tiny_root, tmp_path, capsys):
    from loadbench.reports import jsonl
    from loadbench.reports.ceilings import fractions
    from loadbench.reports.text import run_summary

    argv = ["run", "--data", str(tiny_root), "--mode", "iterate", "--loaders", "generator,tfrecord"]
    argv += ["--steps", "3", "--warmup", "1", "--repeats", "2", "--no-report"]
    argv += [*FIRST_LOOK, "--ceilings", "--min-time", "1"]  # the flags win over --fast's
    argv += ["--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    written = jsonl.read(tmp_path / "out" / "results.jsonl")
    round_ = ["ceiling_decode", "ceiling_copy", "generator", "tfrecord"]
    assert [(r.strategy, r.repeat) for r in written] == [
        (name, repeat) for repeat in (0, 1) for name in round_
    ]
    assert all(r.status == "ok" for r in written), [r.error for r in written]
    ceilings = {r.strategy: r for r in written if r.strategy.startswith("ceiling")}
    # Copying takes 3 batches in well under a millisecond: the time floor extends it.
    assert ceilings["ceiling_copy"].throughput.steps > 3
    assert ceilings["ceiling_copy"].options["min_measured_s"] == 1.0
    by = {(r.strategy, r.repeat): r for r in written}
    decode = [
        by["ceiling_decode", 0].throughput.samples_per_s,
        by["ceiling_decode", 1].throughput.samples_per_s,
    ]
    copy = [
        by["ceiling_copy", 0].throughput.samples_per_s,
        by["ceiling_copy", 1].throughput.samples_per_s,
    ]
    # Each record is read against the median of all its ceiling's runs on the split,
    # whatever the order they ran in: the reader computes it, the record says its ceiling.
    generator, tfrecord = by["generator", 1], by["tfrecord", 1]
    assert generator.ceiling == "ceiling_decode" and tfrecord.ceiling == "ceiling_copy"
    assert all(
        r.role == ("ceiling" if r.strategy.startswith("ceiling") else "strategy") for r in written
    )
    share = dict(zip([(r.strategy, r.repeat) for r in written], fractions(written), strict=True))
    assert share["generator", 1] == pytest.approx(
        generator.throughput.samples_per_s / median(decode)
    )
    assert share["tfrecord", 1] == pytest.approx(tfrecord.throughput.samples_per_s / median(copy))
    assert share["generator", 0] == pytest.approx(
        by["generator", 0].throughput.samples_per_s / median(decode)
    )
    assert share["ceiling_copy", 0] is None
    assert all(
        r.memory.peak_pss_bytes is not None and r.memory.tree_processes >= 1 for r in written
    )
    # The summary: a line per measurement with its ok repeats; --wide adds each one's
    # range and coefficient of variation.
    line = next(x for x in out.splitlines() if x.startswith("iterate  generator"))
    assert " 2/2 " in line and "CV " not in line
    wide = next(x for x in run_summary(written, wide=True).splitlines() if " generator " in x)
    assert " 2/2 " in wide and "CV " in wide
    again = main([*argv, "--resume"])
    assert again == 0
    assert capsys.readouterr().out.count("already recorded, skipped") == 8
    argv[argv.index("--repeats") + 1] = "3"  # one more round: only it is run
    assert main([*argv, "--resume"]) == 0
    assert [r.repeat for r in jsonl.read(tmp_path / "out" / "results.jsonl")][8:] == [2] * 4
