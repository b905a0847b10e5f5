"""The default run's repeats: two always, a third only where the first two disagree
(their peaks, throughput, AU against the line or accelerators fed), decided from the
records as they end; no child is started for a repeat that is not needed."""

from __future__ import annotations

from dataclasses import replace

import pytest
from record_factory import make, trained

from loadbench.harness.parent import session
from loadbench.harness.parent.plan import DatasetChoice, RunConfig, plan
from loadbench.harness.parent.session import Done, Harness, run_jobs
from loadbench.reports.summary import disagreement

MB = 1_000_000


def config(data, tmp_path, **overrides) -> RunConfig:
    values = dict(
        datasets=(DatasetChoice(split=data, synthetic=True),),
        strategies=("generator",),
        modes=("iterate",),
        ceilings=False,
        repeats=3,
        least_repeats=2,
        cache_root=tmp_path / "cache",
        out=tmp_path / "out",
    )
    values.update(overrides)
    return RunConfig(**values)


def test_agreeing_repeats_give_no_reason_and_each_kind_of_disagreement_its_own():
    assert disagreement([make("files", peak_pss_bytes=100 * MB)] * 2) == []
    near = [make("files", peak_pss_bytes=100 * MB), make("files", peak_pss_bytes=108 * MB)]
    assert disagreement(near) == []  # settled peaks of one pipeline differ that much
    apart = [make("files", peak_pss_bytes=100 * MB), make("files", peak_pss_bytes=125 * MB)]
    assert disagreement(apart) == ["peak PSS 22% apart"]
    slow = [make("files", samples_per_s=1000.0), make("files", samples_per_s=700.0)]
    assert disagreement(slow) == []  # a strategy's rate: the machine's spread, mostly
    ceiling = [make("ceiling_copy", samples_per_s=v, peak_pss_bytes=p) for v, p in slow_peaks()]
    assert [r.split(" CV")[0] for r in disagreement(ceiling)] == ["samples/s"]
    line = [trained("files", 0.91), trained("files", 0.89)]
    assert disagreement(line) == ["AU 89%-91%, both sides of the line"]
    assert disagreement([trained("files", 0.95), trained("files", 0.93)]) == []
    fed = [trained("memmap", 0.95, accelerators_fed=n) for n in (3, 6)]
    assert disagreement(fed)[0].startswith("accelerators fed 3-6")


def slow_peaks():
    return [(1000.0, 100 * MB), (700.0, 100 * MB)]


def test_only_the_repeat_past_the_least_waits_on_the_earlier_ones(tiny_spec, tmp_path):
    jobs = plan(config(tiny_spec, tmp_path))
    assert [(j.repeat, j.wanted is not None) for j in jobs] == [(0, False), (1, False), (2, True)]
    every = plan(config(tiny_spec, tmp_path, least_repeats=None))
    assert all(j.wanted is None for j in every)


def done_with(job, *peaks: int) -> list[Done]:
    return [Done(job, None, make("generator", peak_pss_bytes=p)) for p in peaks]


def test_the_third_repeat_runs_where_the_first_two_disagree_or_one_failed(tiny_spec, tmp_path):
    first, _, third = plan(config(tiny_spec, tmp_path))
    assert "apart" in third.wanted(done_with(first, 50 * MB, 60 * MB))
    assert third.wanted(done_with(first, 50 * MB, 53 * MB)) is None
    failed = [Done(first, None, make("generator", status="crashed", error="SIGSEGV"))]
    assert third.wanted(done_with(first, 50 * MB) + failed) == "1 earlier repeat(s) ended ok"
    other = plan(config(tiny_spec, tmp_path, strategies=("files",)))[0]
    assert third.wanted(done_with(other, 50 * MB, 50 * MB)) is not None  # not its own


@pytest.mark.parametrize(("peaks", "children"), [((50, 52), 2), ((50, 70), 3)])
def test_the_session_starts_no_child_for_a_repeat_not_needed(
    tiny_spec, tmp_path, monkeypatch, capsys, peaks, children
):
    started = []

    def fake_run(spec, *args, **kwargs):
        started.append(spec)
        return session.Outcome(status="ok", error=None, result=None, wall_s=0.1, started_at="")

    jobs = plan(config(tiny_spec, tmp_path))
    made = iter((*peaks, 60))
    jobs = [
        replace(j, to_record=lambda _o: make("generator", peak_pss_bytes=next(made) * MB))
        for j in jobs
    ]
    monkeypatch.setattr(session, "run_isolated", fake_run)
    done = run_jobs(jobs, Harness(results=None))
    assert len(started) == len(done) == children
    said = capsys.readouterr().out
    assert ("not needed: the earlier repeats agree" in said) == (children == 2)


def test_a_training_repeat_confirms_the_count_the_earlier_repeats_found(tiny_spec, tmp_path):
    jobs = plan(config(tiny_spec, tmp_path, modes=("iterate", "train")))
    training = [j for j in jobs if j.spec.mode == "train"]
    assert [j.adapted is not None for j in training] == [False, True, True]
    assert all(j.adapted is None for j in jobs if j.spec.mode == "iterate")  # no search
    first, second, third = training
    fed = [Done(first, None, trained("generator", 0.95, accelerators_fed=n)) for n in (5, 7)]
    assert second.adapted(second.spec, fed[:1]).fed_start == 5
    assert third.adapted(third.spec, fed).fed_start == 5  # the lower median of 5 and 7
    none = [Done(first, None, trained("generator", 0.5, accelerators_fed=0))]
    assert second.adapted(second.spec, none).fed_start is None  # nothing to confirm
    other = plan(config(tiny_spec, tmp_path, modes=("train",), strategies=("files",)))[0]
    elsewhere = [Done(other, None, trained("files", 0.95, accelerators_fed=3))]
    assert second.adapted(second.spec, elsewhere).fed_start is None  # not its own


def test_the_session_runs_the_spec_a_repeat_adapted(tiny_spec, tmp_path, monkeypatch):
    started = []

    def fake_run(spec, *args, **kwargs):
        started.append(spec)
        return session.Outcome(status="ok", error=None, result=None, wall_s=0.1, started_at="")

    jobs = plan(config(tiny_spec, tmp_path, modes=("train",), repeats=2))
    jobs = [
        replace(j, to_record=lambda _o: trained("generator", 0.95, accelerators_fed=4))
        for j in jobs
    ]
    monkeypatch.setattr(session, "run_isolated", fake_run)
    run_jobs(jobs, Harness(results=None))
    assert [s.fed_start for s in started] == [None, 4]
