"""``loadbench report``: self-contained HTML and CSV from records or pytest-benchmark
JSON, with failed runs shown, no GPU, one strategy; and the computed advice."""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd
from record_factory import make, write, write_pytest_benchmark

from benchmarks.cli import main
from reports.summary import advice, best, summary

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?https?:""", re.I)


def render(tmp_path, *paths, flags=()) -> str:
    out = tmp_path / "report"
    assert main(["report", *map(str, paths), "--out", str(out), *flags]) == 0
    assert (out / "results.csv").is_file()
    return (out / "index.html").read_text()


def assert_self_contained(html: str) -> None:
    assert not EXTERNAL.search(html), EXTERNAL.search(html).group(0)
    assert html.count('src="data:image/png;base64,') == 4  # every figure embedded


def test_report_from_records(tmp_path, suite, capsys):
    html = render(tmp_path, write(tmp_path / "r.jsonl", suite))
    assert f"report: {tmp_path / 'report' / 'index.html'}" in capsys.readouterr().out
    assert_self_contained(html)
    for name in ("tensor_slices", "generator", "sequence", "tfrecord", "memmap"):
        assert name in html
    assert "5,000 samples/s" in html and "200.0 MB" in html
    assert "loadbench run --pairs 100 --size 64" in html  # the command
    assert "2.21.0" in html and "AMD EPYC (2 CPUs)" in html and "abc123" in html
    csv = pd.read_csv(tmp_path / "report" / "results.csv")
    assert len(csv) == 5 and set(csv["strategy"]) == {r.strategy for r in suite}


def test_failed_run_is_shown_with_its_reason(tmp_path, suite):
    broken = make(
        "memmap",
        status="killed",
        error="killed by SIGKILL (likely the OOM killer)",
        samples_per_s=None,
        peak_rss_bytes=None,
        rss_timeline=[],
    )
    html = render(tmp_path, write(tmp_path / "r.jsonl", [*suite[:-1], broken]))
    assert_self_contained(html)
    assert "killed by SIGKILL (likely the OOM killer)" in html
    assert '<tr class="failed">' in html


def test_no_gpu_is_said(tmp_path, suite):
    html = render(tmp_path, write(tmp_path / "r.jsonl", suite))
    assert re.search(r"<th class=\"text\">GPU</th><td class=\"text\">none</td>", html)


def test_single_strategy(tmp_path):
    html = render(tmp_path, write(tmp_path / "r.jsonl", [make("generator")]))
    assert_self_contained(html)
    assert "generator" in html
    assert 'class="best"' not in html  # nothing to choose between


def test_report_from_pytest_benchmark_json(tmp_path, suite):
    path = write_pytest_benchmark(tmp_path / "out.json", suite)
    html = render(tmp_path, path)
    assert_self_contained(html)
    assert "5 run(s)" in html  # the sampler benchmark without a record is skipped


def test_report_with_a_baseline_shows_the_verdict(tmp_path, suite):
    baseline = write(tmp_path / "base.jsonl", suite)
    grown = [replace(r, peak_rss_bytes=r.peak_rss_bytes * 2) for r in suite]
    html = render(tmp_path, write(tmp_path / "r.jsonl", grown), flags=["--baseline", str(baseline)])
    assert "5 regression(s): compare exits 1" in html
    assert "regressed (&gt; 10%)" in html


def test_best_marks_and_advice_come_from_the_numbers(suite):
    over = replace(suite[0], dataset_graph_bytes=3 * 2**30, graph_over_limit=True)
    table = summary([over, *suite[1:]])
    marks = best(table)
    by_name = dict(zip(table["strategy"], table.index, strict=True))
    assert marks[(by_name["tensor_slices"], "samples_per_s")]
    assert marks[(by_name["generator"], "peak_rss_bytes")]
    answers = {a.question: a.answer for a in advice(table)}
    assert answers["Lowest memory (iterate)"] == "generator: 200.0 MB peak RSS"
    assert answers["Fastest (iterate)"].startswith("tensor_slices: 5,000 samples/s")
    # twice the lowest peak is 400 MB: tfrecord (2,300/s at 300 MB) beats sequence
    assert answers["Fastest within 400.0 MB (twice the lowest peak) (iterate)"] == (
        "tfrecord: 2,300 samples/s at 300.0 MB"
    )
    assert answers["Which cannot serialize their dataset graph (2 GiB protobuf limit)?"] == (
        "tensor_slices"
    )
    budget = {a.question: a.answer for a in advice(table, memory_budget_bytes=250_000_000)}
    assert budget["Fastest within 250.0 MB (your budget) (iterate)"].startswith("generator")


def test_repeats_and_ties(suite):
    again = [replace(r, samples_per_s=r.samples_per_s * 1.02) for r in suite]
    table = summary([*suite, *again])
    assert list(table["runs"]) == [2] * 5
    close = [make("a", samples_per_s=100.0), make("b", samples_per_s=97.0)]
    answers = {a.question: a.answer for a in advice(summary(close))}
    assert answers["Fastest (iterate)"].endswith("(b within 5% of it)")


def test_reports_do_not_import_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys, reports.html, reports.compare, benchmarks.commands.report, "
        "benchmarks.commands.compare; print('tensorflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_memray_peak_links_to_its_flame_graph(tmp_path, suite):
    flame = tmp_path / "results" / "memray" / "iterate-generator.html"
    flame.parent.mkdir(parents=True)
    flame.write_text("<!DOCTYPE html>")
    tracked = replace(suite[1], memray_peak_bytes=42_000_000, memray_flamegraph=str(flame))
    html = render(tmp_path, write(tmp_path / "r.jsonl", [suite[0], tracked]))
    assert '<a href="../results/memray/iterate-generator.html">42.0 MB</a>' in html


def test_report_when_every_run_failed(tmp_path):
    failed = make(
        "generator",
        status="error",
        error="DatasetError: no images",
        samples_per_s=None,
        peak_rss_bytes=None,
        dataset_graph_bytes=None,
        graph_over_limit=None,
        rss_timeline=[],
    )
    html = render(tmp_path, write(tmp_path / "r.jsonl", [failed]))
    assert_self_contained(html)
    assert "DatasetError: no images" in html and "no run ended ok" in html
