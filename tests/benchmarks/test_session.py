"""The loop that runs children (``session.run_jobs``): what it hands one repeat from
another, and what ``loadbench run`` starts before it parses its arguments."""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace

import pytest

from benchmarks import cli
from benchmarks.harness import runner, session
from benchmarks.harness.runner import Outcome
from benchmarks.harness.session import Harness, Job, run_jobs


@dataclass(frozen=True)
class FakeSpec:
    fed_search: bool = True
    fed_start: int | None = None
    log_path: str | None = None


def jobs_answering(answers, identity="train generator", spec=FakeSpec(), capped=False):
    """One job per answer, all repeats of one run: each record says that many
    accelerators fed (capped where asked)."""

    def record_of(answer):
        fields = dict(accelerators_fed=answer, accelerators_fed_capped=capped)
        return lambda outcome: SimpleNamespace(status="ok", error=None, **fields)

    return [
        Job(spec=spec, label=f" #{n}", identity=identity, repeat=n, to_record=record_of(a))
        for n, a in enumerate(answers)
    ]


@pytest.fixture
def started(monkeypatch):
    """The specs run_jobs starts children with, in order (no child is started)."""
    specs = []

    def run_isolated(spec, *args, **kwargs):
        specs.append(spec)
        return Outcome(status="ok", error=None, result=None, wall_s=0.0, started_at="")

    monkeypatch.setattr(session, "run_isolated", run_isolated)
    return specs


def test_a_repeat_starts_its_search_one_above_the_last_answer(started):
    run_jobs(jobs_answering([4, 3, 5]), Harness(results=None, quiet=True))
    assert [spec.fed_start for spec in started] == [None, 5, 4]


def test_no_start_is_handed_on_from_a_cap_a_zero_another_run_or_no_search(started):
    harness = Harness(results=None, quiet=True)
    run_jobs(jobs_answering([128, 128], capped=True), harness)
    run_jobs(jobs_answering([0, 0]), harness)
    run_jobs(jobs_answering([3], identity="a") + jobs_answering([3], identity="b"), harness)
    run_jobs(jobs_answering([3, 3], spec=FakeSpec(fed_search=False)), harness)
    assert [spec.fed_start for spec in started] == [None] * 8


def test_a_resumed_file_hands_its_answers_on(started, tmp_path, monkeypatch):
    earlier = SimpleNamespace(key=lambda: "train generator", repeat=0, accelerators_fed=6)
    monkeypatch.setattr(session.jsonl, "read", lambda path: [earlier])
    monkeypatch.setattr(session.jsonl, "append", lambda path, record: None)
    harness = Harness(results=tmp_path / "results.jsonl", quiet=True, resume=True)
    jobs = [replace(job, repeat=1) for job in jobs_answering([2])]
    run_jobs(jobs, harness)
    assert [spec.fed_start for spec in started] == [7]


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
