"""``loadbench compare``: exit 1 on each kind of regression, 0 within tolerance, 2 on a
bad file; and the pure decision under it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from record_factory import make, write

from benchmarks.cli import main
from reports.compare import Tolerances, compare


def run_compare(tmp_path, baseline, current, *flags) -> int:
    old = write(tmp_path / "baseline.jsonl", baseline)
    new = write(tmp_path / "current.jsonl", current)
    return main(["compare", str(old), str(new), *flags])


def test_identical_results_pass(tmp_path, suite, capsys):
    assert run_compare(tmp_path, suite, suite) == 0
    assert "no regression" in capsys.readouterr().out


def test_memory_regression_fails(tmp_path, suite, capsys):
    grown = [
        replace(r, peak_rss_bytes=int(r.peak_rss_bytes * 1.2)) if r.strategy == "generator" else r
        for r in suite
    ]
    assert run_compare(tmp_path, suite, grown) == 1
    out = capsys.readouterr().out
    assert "iterate generator (100 pairs 64x64): peak RSS 200.0 MB -> 240.0 MB, +20.0% worse" in out


def test_memory_within_tolerance_or_floor_passes(tmp_path, suite):
    grown = [replace(r, peak_rss_bytes=int(r.peak_rss_bytes * 1.08)) for r in suite]
    assert run_compare(tmp_path, suite, grown) == 0
    grown = [replace(r, peak_rss_bytes=r.peak_rss_bytes + 30_000_000) for r in suite]
    assert run_compare(tmp_path, suite, grown, "--memory-tolerance", "5%") == 1
    assert (
        run_compare(tmp_path, suite, grown, "--memory-tolerance", "5%", "--memory-floor", "32MB")
        == 0
    )


def test_graph_regression_fails(tmp_path, suite, capsys):
    grown = [replace(r, dataset_graph_bytes=r.dataset_graph_bytes + 200) for r in suite]
    assert run_compare(tmp_path, suite, grown) == 1  # 6,000 -> 6,200 B is +3.3% > 1%
    assert "dataset graph" in capsys.readouterr().out


def test_throughput_regression_fails_on_the_same_machine(tmp_path, suite):
    slower = [replace(r, samples_per_s=r.samples_per_s * 0.7) for r in suite]
    assert run_compare(tmp_path, suite, slower) == 1
    assert run_compare(tmp_path, suite, slower, "--throughput-tolerance", "40%") == 0
    assert run_compare(tmp_path, suite, slower, "--ignore-throughput") == 0


def test_throughput_is_not_judged_across_machines_unless_forced(tmp_path, suite, capsys):
    elsewhere = [
        replace(r, samples_per_s=r.samples_per_s * 0.5, env={**r.env, "hostname": "laptop"})
        for r in suite
    ]
    assert run_compare(tmp_path, suite, elsewhere) == 0
    assert "not judged: another machine" in capsys.readouterr().out
    assert run_compare(tmp_path, suite, elsewhere, "--force-throughput") == 1


def test_a_run_that_now_fails_fails(tmp_path, suite, capsys):
    broken = [
        replace(r, status="crashed", error="crashed with SIGABRT", peak_rss_bytes=None)
        if r.strategy == "tfrecord"
        else r
        for r in suite
    ]
    assert run_compare(tmp_path, suite, broken) == 1
    assert "ok in the baseline, now crashed: crashed with SIGABRT" in capsys.readouterr().out


def test_a_missing_run_fails(tmp_path, suite, capsys):
    assert run_compare(tmp_path, suite, suite[:-1]) == 1
    assert "iterate memmap (100 pairs 64x64): in the baseline, missing" in capsys.readouterr().out


def test_runs_are_matched_by_options_too(tmp_path, suite):
    other = [replace(r, options={**r.options, "batch_size": 64}) for r in suite]
    assert run_compare(tmp_path, suite, other) == 1  # nothing matches: all missing


def test_malformed_file_exits_2_naming_file_and_line(tmp_path, suite, capsys):
    good = write(tmp_path / "good.jsonl", suite)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good.read_text().splitlines()[0] + "\n{not json\n" + "\n")
    assert main(["compare", str(bad), str(good)]) == 2
    assert f"{bad}:2: not JSON" in capsys.readouterr().err


def test_missing_or_empty_file_exits_2(tmp_path, suite, capsys):
    good = write(tmp_path / "good.jsonl", suite)
    assert main(["compare", str(tmp_path / "nope.jsonl"), str(good)]) == 2
    assert "nope.jsonl: no such results file" in capsys.readouterr().err
    (tmp_path / "empty.jsonl").write_text("")
    assert main(["compare", str(good), str(tmp_path / "empty.jsonl")]) == 2
    assert "empty.jsonl: holds no loadbench records" in capsys.readouterr().err


def test_bad_tolerance_exits_2(tmp_path, suite, capsys):
    assert run_compare(tmp_path, suite, suite, "--memory-tolerance", "lots") == 2
    assert "--memory-tolerance 'lots': expected a percentage" in capsys.readouterr().err


def test_repeats_compare_by_their_median():
    baseline = [make("generator", peak_rss_bytes=v) for v in (100, 200, 300)]
    current = [make("generator", peak_rss_bytes=v) for v in (150, 210, 900)]
    result = compare(baseline, current, Tolerances(memory=0.10))
    [row] = [r for r in result.rows if r.metric == "peak RSS"]
    assert (row.baseline, row.current) == (200, 210)
    assert not result.failed


def test_improvement_is_marked_not_failed():
    result = compare(
        [make("generator")], [make("generator", peak_rss_bytes=50_000_000)], Tolerances()
    )
    [row] = [r for r in result.rows if r.metric == "peak RSS"]
    assert row.improved and not row.failed and row.change == pytest.approx(-0.5)


def test_a_failed_train_run_is_matched_although_it_never_learned_its_width(tmp_path, capsys):
    options = {"batch_size": 32, "cache": "none", "steps": 10, "warmup_steps": 2}
    trained = make(
        "generator", mode="train", options={**options, "width": 4}, train_graph_bytes=1_325_711
    )
    failed = make(
        "generator",
        mode="train",
        options={**options, "width": None},
        status="error",
        error="ValueError: bad\nline two",
        peak_rss_bytes=None,
    )
    assert run_compare(tmp_path, [trained], [failed]) == 1
    out = capsys.readouterr().out
    assert "ok in the baseline, now error: ValueError: bad" in out and "missing" not in out
    assert "line two" not in out  # one line per failure
