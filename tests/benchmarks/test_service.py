"""The tf.data service: a real dispatcher and worker processes per run, on loopback
only, gone afterwards whatever happened; a strategy that cannot be distributed is
recorded with its reason."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from runs import Ready, interruptible, spec_for

from loadbench.harness.child.data_service import parse_service
from loadbench.harness.parent.runner import run_isolated
from loadbench.harness.spec import RunSpec
from loadbench.loaders.errors import OptionsError


def served_spec(strategy: str, root, cache_root, workers: str = "1") -> RunSpec:
    return spec_for(strategy, root, cache_root, service=workers)


@pytest.fixture
def service_file(tmp_path, monkeypatch):
    path = tmp_path / "service.json"
    monkeypatch.setenv("LOADBENCH_TEST_SERVICE_FILE", str(path))
    return path


def gone(pids: list[int]) -> bool:
    """Every one of ``pids`` ended (or is a zombie its parent has yet to reap) within 10 s."""
    alive = []
    for pid in pids:
        try:
            alive.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            continue
    _, left = psutil.wait_procs(alive, timeout=10)
    return all(p.status() == psutil.STATUS_ZOMBIE for p in left if p.is_running())


def test_parse_service():
    assert parse_service(None) == [] and parse_service("2") == ["2"]
    assert parse_service("0,1,2,1") == ["0", "1", "2"]
    assert parse_service("grpc://dispatcher.example:5050") == ["grpc://dispatcher.example:5050"]
    for bad in ("two", "-1", "grpc://nohost", "grpc://host:port"):
        with pytest.raises(OptionsError, match="--service"):
            parse_service(bad)


@pytest.mark.slow
def test_two_workers_on_loopback_only_and_gone_after(tiny_root, cache_root, service_file):
    outcome = run_isolated(served_spec("served:Reports", tiny_root, cache_root, "2"), 180)
    assert outcome.status == "ok", outcome.error
    seen = json.loads(service_file.read_text())
    assert len(seen["nodes"]) == 3  # the dispatcher and two workers, processes of their own
    assert gone(seen["nodes"])
    result = outcome.result.measurement
    assert len(result.service.worker_peak_rss_bytes) == 2
    assert result.service.client_peak_rss_bytes is not None
    if result.service.network.startswith("loopback only"):
        assert seen["netns"] != os.readlink("/proc/self/ns/net")
        assert seen["interfaces"] == ["lo"]  # nothing outside the run can reach a port
    else:  # a kernel that refuses namespaces: the record says so
        assert result.service.network.startswith("host network")


@pytest.mark.slow
def test_nodes_go_when_the_run_crashes(tiny_root, cache_root, service_file):
    spec = served_spec("served:CrashesWhileServed", tiny_root, cache_root)
    outcome = run_isolated(spec, 180)
    assert outcome.status == "crashed" and "SIGABRT" in outcome.error
    assert gone(json.loads(service_file.read_text())["nodes"])


@pytest.mark.slow
def test_a_python_pipeline_is_not_distributable_and_says_why(tiny_root, cache_root):
    outcome = run_isolated(served_spec("generator", tiny_root, cache_root), 120)
    assert outcome.status == "error"
    assert "Could not find callback" in outcome.error


@pytest.mark.slow
def test_nodes_go_on_ctrl_c(tiny_root, tmp_path, service_file):
    command = [
        sys.executable,
        "-m",
        "loadbench",
        "run",
        "--data",
        str(tiny_root),
        "--repeats",
        "1",
    ]
    command += ["--loaders", "served:SleepsWhileServed", "--mode", "iterate", "--service", "1"]
    command += ["--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]
    plugins = str(Path(__file__).parents[1] / "plugins")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([plugins, os.environ.get("PYTHONPATH", "")])}
    ready = Ready(tmp_path)
    env.update(ready.env())
    cli = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        preexec_fn=interruptible,
    )
    assert ready.wait(120, cli) == "reported"
    nodes = json.loads(service_file.read_text())["nodes"]
    assert nodes and all(psutil.pid_exists(p) for p in nodes)
    cli.send_signal(signal.SIGINT)
    assert cli.wait(timeout=60) == 130
    assert gone(nodes)
