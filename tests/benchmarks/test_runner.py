"""The isolated runner: every way a child can end is classified, nothing outlives it,
and the memory probes measure a known allocation."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from multiprocessing import resource_tracker

import psutil
import pytest
from runs import spec_for

from loadbench.harness.parent import runner
from loadbench.harness.parent.runner import START_METHODS, run_isolated

# Every test here starts TensorFlow children: the developer's loop (-m 'not slow') skips them.
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def no_process_left_behind():
    resource_tracker.ensure_running()
    runner.start_server()  # shared by every run, as the resource tracker is
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield
    after = {p.pid for p in psutil.Process().children(recursive=True)}
    assert after - before == set()


def test_ok_run_reports_metrics(tiny_root, cache_root):
    outcome = run_isolated(spec_for("generator", tiny_root, cache_root), timeout_s=120)
    assert outcome.status == "ok", outcome.error
    result = outcome.result.measurement
    assert result.throughput.steps == 4 and result.throughput.samples_per_s > 0
    assert result.memory.baseline_rss_bytes > 100e6  # TensorFlow is loaded
    assert result.memory.gpu_peak_bytes is None  # no GPU here: null, not zero
    assert 0 < result.graph.dataset_graph_bytes < 1e6 and result.graph.graph_over_limit is False
    assert result.throughput.step_p50_s <= result.throughput.step_p95_s
    assert result.memory.memory_profile["why"]  # the strategy's own memory, for the model
    ends = result.throughput.batch_ends_s
    assert (
        len(ends) == 1 + 4 and ends == sorted(ends) and ends[0] == result.throughput.first_batch_s
    )
    assert outcome.machine_speed and outcome.machine_speed > 0  # read before the child started


@pytest.mark.parametrize(
    ("strategy", "status", "message"),
    [
        ("misbehaving:Raises", "error", "ValueError: cannot read"),
        ("misbehaving:Aborts", "crashed", "crashed with SIGABRT"),
        ("misbehaving:KilledByOOM", "killed", "SIGKILL (likely the out-of-memory killer)"),
    ],
)
def test_failures_are_classified(strategy, status, message, tiny_root, cache_root, tmp_path):
    log = tmp_path / "child.log"
    spec = spec_for(strategy, tiny_root, cache_root, log_path=str(log))
    outcome = run_isolated(spec, timeout_s=120)
    assert outcome.status == status
    assert message in outcome.error
    assert log.is_file()  # the child's output went to its log, not the terminal
    if status == "crashed":  # a native abort's last words say why
        assert "last output: F0000 fake_op.cc:1] Check failed: pretend" in outcome.error


def test_timeout_kills_the_child(tiny_root, cache_root):
    outcome = run_isolated(spec_for("misbehaving:Sleeps", tiny_root, cache_root), timeout_s=8)
    assert outcome.status == "timeout"
    assert outcome.wall_s < 300  # killed: the strategy would sleep 600 s


def test_memory_ceiling_kills_the_child(tiny_root, cache_root):
    outcome = run_isolated(
        spec_for("misbehaving:Hog", tiny_root, cache_root),
        timeout_s=120,
        max_memory_bytes=1_200_000_000,
    )
    assert outcome.status == "over_budget"
    assert "over --kill-above 1,200 MB" in outcome.error


# The probes' calibrations hold whichever way the child starts: forked from the fork
# server (the default) or spawned.
@pytest.mark.parametrize("method", START_METHODS)
def test_rss_probe_measures_a_known_allocation_within_5_percent(tiny_root, cache_root, method):
    spec = spec_for("misbehaving:Calibrated", tiny_root, cache_root)
    outcome = run_isolated(spec, 120, start_method=method)
    assert outcome.status == "ok", outcome.error
    peak = outcome.result.measurement.memory.peak_rss_bytes
    assert abs(peak - 500e6) / 500e6 < 0.05, peak


@pytest.mark.parametrize("method", START_METHODS)
def test_memray_measures_a_known_allocation_within_5_percent(
    tiny_root, cache_root, tmp_path, method
):
    spec = spec_for(
        "misbehaving:Calibrated", tiny_root, cache_root, memray_path=str(tmp_path / "capture.bin")
    )
    outcome = run_isolated(spec, 120, start_method=method)
    assert outcome.status == "ok", outcome.error
    peak = outcome.result.measurement.memory.memray_peak_bytes
    assert abs(peak - 500e6) / 500e6 < 0.05, peak


@pytest.mark.parametrize("method", START_METHODS)
def test_tree_probe_counts_a_worker_process(tiny_root, cache_root, method):
    spec = spec_for("misbehaving:SpawnsHungryChild", tiny_root, cache_root)
    outcome = run_isolated(spec, 120, start_method=method)
    assert outcome.status == "ok", outcome.error
    # 300 MB in the worker, plus its bare interpreter and the child's own small growth
    assert 300e6 <= outcome.result.measurement.memory.peak_rss_bytes < 300e6 + 50e6


@pytest.mark.parametrize("method", START_METHODS)
def test_pss_counts_a_block_forked_children_share_once(tiny_root, cache_root, method):
    """A forked child's pages are shared with the fork server too; the child makes
    them its own first (loadbench.harness.child.pages), so its workers' shared block counts
    once in the tree's PSS, as in a spawned child's tree."""
    spec = spec_for("misbehaving:ForksSharing", tiny_root, cache_root)
    outcome = run_isolated(spec, 120, start_method=method)
    assert outcome.status == "ok", outcome.error
    measured = outcome.result.measurement
    block = 200e6
    # Once, not three times (twice would be 400 MB): above it, the pages the child's own
    # threads write while the forked processes still share its heap are copied and count
    # twice; in full-suite runs that added 14-81 MB (alone: under 5%).
    assert 0.95 * block <= measured.memory.peak_pss_bytes < 1.5 * block, (
        measured.memory.peak_pss_bytes
    )
    assert measured.memory.peak_rss_bytes > 2.7 * block  # summed RSS: once per process


def test_a_forked_child_starts_with_the_parents_environment(tiny_root, cache_root, monkeypatch):
    """The fork server's environment is that of the moment it started; the child takes
    on the parent's as it is at the run, as a spawned child would."""
    runner.start_server()
    monkeypatch.setenv("LOADBENCH_TEST_SETTING", "set after the server started")
    spec = spec_for("generator", tiny_root, cache_root)
    outcome = run_isolated(spec, 60, work=environment_of, start_method="forkserver")
    assert outcome.status == "ok", outcome.error
    assert outcome.result["setting"] == "set after the server started"
    assert outcome.result["threads"] == 1  # nothing of TensorFlow's runtime came along


def environment_of(spec) -> dict:
    """A child's work: what it sees of its environment, and its thread count."""
    import os

    return {
        "setting": os.environ.get("LOADBENCH_TEST_SETTING"),
        "threads": len(os.listdir("/proc/self/task")),
    }


def start_method(spec) -> dict:
    """A child's work: the start method its own subprocesses would get."""
    return {"start_method": multiprocessing.get_start_method()}


def test_the_childs_worker_processes_start_as_in_a_users_script(tiny_root, cache_root, tmp_path):
    # The harness spawns its children; a spawned interpreter would spawn its own workers
    # too (a PyDataset's, each importing TensorFlow again). They get the platform's
    # default instead, what a user's own training script gets: fork on Linux.
    spec = spec_for("generator", tiny_root, cache_root, log_path=str(tmp_path / "run.log"))
    outcome = run_isolated(spec, 60, work=start_method)
    assert outcome.status == "ok", outcome.error
    script = "import multiprocessing; print(multiprocessing.get_start_method())"
    default = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert outcome.result["start_method"] == default.stdout.strip() != "spawn"


def hangs_at_exit(spec) -> str:
    """A child's work that returns, leaving a clean-up that never ends (as a PyDataset's
    worker pool once did in its terminate)."""
    import atexit
    import threading

    atexit.register(threading.Event().wait)
    return "measured"


def test_a_clean_up_that_hangs_after_the_result_does_not_lose_the_run(tiny_root, cache_root):
    from loadbench.harness.child.entry import CLEAN_UP_S

    spec = spec_for("generator", tiny_root, cache_root)
    outcome = run_isolated(spec, 60, work=hangs_at_exit)
    assert outcome.status == "ok" and outcome.result == "measured", outcome.error
    assert outcome.wall_s < CLEAN_UP_S + 20  # not the 60 s timeout
