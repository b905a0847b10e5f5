"""What ``loadbench run`` starts before it parses its arguments: the fork server."""

from __future__ import annotations

import pytest

from loadbench import cli
from loadbench.harness.parent import runner


@pytest.fixture
def server_starts(monkeypatch):
    calls = []
    monkeypatch.setattr(runner, "start_server", calls.append)
    monkeypatch.delenv("LOADBENCH_START_METHOD", raising=False)
    return calls


@pytest.mark.parametrize(
    ("argv", "starts"),
    [
        (["run"], True),
        (["--debug", "run", "--loaders", "files", "--out", "x"], True),
        (["run", "--start-method", "forkserver"], True),
        (["run", "--start-method", "spawn"], False),
        (["run", "--start-method", "bogus"], False),
        (["report", "results.jsonl"], False),
        (["sweep"], False),
        ([], False),
    ],
)
def test_run_starts_its_fork_server_before_parsing(server_starts, argv, starts):
    assert cli.start_server_early(argv) is starts
    assert server_starts == (["forkserver"] if starts else [])


def test_a_bad_start_method_in_the_environment_is_left_to_the_command(server_starts, monkeypatch):
    monkeypatch.setenv("LOADBENCH_START_METHOD", "bogus")
    assert cli.start_server_early(["run"]) is False
    assert server_starts == []


def test_the_early_fork_server_stops_when_the_parser_refuses_the_arguments():
    from multiprocessing import forkserver

    with pytest.raises(SystemExit):
        cli.main(["run", "--no-such-option"])
    assert getattr(forkserver._forkserver, "_forkserver_pid", None) is None
