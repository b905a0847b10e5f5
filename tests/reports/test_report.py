"""``loadbench report``: self-contained HTML and CSV from records or pytest-benchmark
JSON, with failed runs shown, no GPU, one strategy; and the computed advice."""

from __future__ import annotations

import re

import pandas as pd
from record_factory import make, write, write_pytest_benchmark
from rendering import render

from loadbench.cli import main
from loadbench.reports.summary import advice, best, summary

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?https?:""", re.I)


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
    grown = [r.updated(peak_rss_bytes=r.memory.peak_rss_bytes * 2) for r in suite]
    html = render(tmp_path, write(tmp_path / "r.jsonl", grown), flags=["--baseline", str(baseline)])
    assert "5 regression(s): compare exits 1" in html
    assert "regressed (&gt; 10%)" in html


def test_best_marks_and_advice_come_from_the_numbers(suite):
    over = suite[0].updated(dataset_graph_bytes=3 * 2**30, graph_over_limit=True)
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
        "tfrecord: 2,300 samples/s at 300.0 MB peak RSS"
    )
    assert answers["Which cannot serialize their dataset graph (2 GiB protobuf limit)?"] == (
        "tensor_slices"
    )
    budget = {a.question: a.answer for a in advice(table, memory_budget_bytes=250_000_000)}
    assert budget["Fastest within 250.0 MB (your budget) (iterate)"].startswith("generator")


def test_repeats_and_ties(suite):
    again = [r.updated(samples_per_s=r.throughput.samples_per_s * 1.02) for r in suite]
    table = summary([*suite, *again])
    assert list(table["runs"]) == [2] * 5
    close = [make("a", samples_per_s=100.0), make("b", samples_per_s=97.0)]
    answers = {a.question: a.answer for a in advice(summary(close))}
    assert answers["Fastest (iterate)"].endswith("(b within 5% of it)")


def test_reports_do_not_import_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys, loadbench.reports.html, loadbench.reports.compare, "
        "loadbench.cli.commands.report, loadbench.cli.commands.compare; "
        "print('tensorflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_memray_peak_links_to_its_flame_graph(tmp_path, suite):
    flame = tmp_path / "results" / "memray" / "iterate-generator.html"
    flame.parent.mkdir(parents=True)
    flame.write_text("<!DOCTYPE html>")
    tracked = suite[1].updated(memray_peak_bytes=42_000_000, memray_flamegraph=str(flame))
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


def test_sweep_report_draws_growth_and_break_points(tmp_path):
    sample = 28_672
    runs = [
        make(
            strategy,
            dataset={
                "root": "synthetic",
                "split": "train",
                "pairs": pairs,
                "image_size": [64, 64],
                "bytes_per_sample": sample,
            },
            peak_rss_bytes=(2 * pairs * sample if strategy == "tensor_slices" else 0) + 90_000_000,
            dataset_graph_bytes=pairs * sample if strategy == "tensor_slices" else 5_800,
            memory_profile={"split_copies": 2} if strategy == "tensor_slices" else {},
        )
        for pairs in (250, 500, 1000)
        for strategy in ("tensor_slices", "generator")
    ]
    html = render(tmp_path, write(tmp_path / "sweep.jsonl", runs), flags=["--ram", "8GB"])
    assert "Growth with the data, and where each strategy breaks" in html
    assert "2.1 GB of data (the 2 GiB graph limit)" in html
    assert "of data (8.0 GB of RAM)" in html and "never: does not grow with the data" in html
    assert html.count('src="data:image/png;base64,') == 5  # the four figures and the growth
    assert "Memory model: predicted against measured" in html
    assert "decoded split" in html  # the model's largest term for tensor_slices


def test_report_without_sizes_or_profiles_has_no_growth_or_model(tmp_path, suite):
    html = render(tmp_path, write(tmp_path / "r.jsonl", suite))
    assert "Growth with the data" not in html and "Memory model" not in html
    assert "seed pipeline" not in html and "2 GiB limit, proved" not in html


def test_seed_section_puts_the_article_first_with_its_pairing_and_story_predictions(tmp_path):
    sample = 458_752
    dataset = {
        "root": "synthetic",
        "split": "train",
        "pairs": 400,
        "image_size": [256, 256],
        "bytes_per_sample": sample,
        "unpaired": ["label/000005.png", "time1/000005.png"],
    }
    runs = []
    # The variants ran first here: the section still shows the article's pipeline first.
    for strategy, cache, element, kept in (
        ("generator", "memory", 1, 400 * sample),
        ("generator", "none", 1, 0),
        ("article", "memory", 4, 4 * 400 * sample),
    ):
        options = {"batch_size": 200, "shuffle_buffer": 100, "cache": cache, "preset": "seed"}
        options.update(prefetch=-1, steps=4, warmup_steps=0)
        options["normalize"] = "host" if strategy == "article" else "device"
        timeline = [[t / 10, int(kept * min(1, t / 20)) + 50_000_000] for t in range(41)]
        pairing = None
        if strategy == "article":
            pairing = {
                "rule": "zip(sorted(time1), sorted(time2), sorted(label))",
                "triples": 400,
                "mispaired": 395,
                "first_mispaired": [["000005.png", "000006.png", "000005.png"]],
                "dropped": ["time1/000400.png", "label/000400.png"],
            }
        runs.append(
            make(
                strategy,
                dataset=dataset,
                options=options,
                rss_timeline=timeline,
                batch_ends_s=[1.0, 2.0, 3.0, 4.0],
                peak_rss_bytes=max(v for _, v in timeline),
                baseline_rss_bytes=500_000_000,
                memory_profile={"sample_element_bytes": element, "why": "test"},
                pairing=pairing,
            )
        )
    html = render(tmp_path, write(tmp_path / "seed.jsonl", runs))
    start = html.index("The seed pipeline: the article's, and what loadbench would write instead")
    section = html[start : html.index("<h2>", start)]
    assert ".cache().shuffle(100).batch(200).repeat().prefetch(AUTOTUNE)" in section
    article = section.index("article: in-memory .cache() of float32, floats made per sample")
    assert (
        article
        < section.index("generator: in-memory .cache()")
        < section.index("generator: no cache")
    )
    # after epoch 1 (2 batches of 200, at 2.0 s) the caches hold the whole split (400 x
    # 458,752 B x 4, and x 1) above the timeline's 50 MB
    assert "784.0 MB" in section and "233.5 MB" in section
    assert "1.3 GB" in section  # absolute peak: 500 MB baseline + 784.0 MB
    # two epochs of the article's 20,000 pairs cache them all, as float32 and as uint8
    assert "in-memory cache 36.7 GB" in section and "in-memory cache 9.2 GB" in section
    assert "predicted at 20,000 pairs of 256x256" in section
    assert "395 of 400 triples mispaired" in section
    assert '<td class="text">000006.png</td>' in section
    assert "time1/000400.png, label/000400.png" in section  # dropped by zip
    assert "label/000005.png, time1/000005.png" in section  # left out by loadbench


def test_prove_limit_records_get_their_table(tmp_path):
    from loadbench.reports import jsonl
    from loadbench.reports.records import LimitRecord

    path = tmp_path / "prove-limit.jsonl"
    for strategy, status, outcome in (
        ("tensor_slices", "crashed", "crashed with SIGABRT: TensorFlow logged 'Check failed'"),
        ("generator", "passed", "distributed; first batch of 32; graph 5,846 B"),
    ):
        jsonl.append(
            path,
            LimitRecord(
                strategy=strategy,
                path="service",
                status=status,
                outcome=outcome,
                dataset={"pairs": 4705, "image_size": [256, 256], "bytes_per_sample": 458_752},
            ),
        )
    assert main(["report", str(path), "--out", str(tmp_path)]) == 0
    html = (tmp_path / "report" / "index.html").read_text()
    assert "The 2 GiB limit, proved" in html and "4705 pairs 256x256" in html
    assert "Check failed" in html and "first batch of 32" in html
    assert re.search(r"the limit\s+is 2 GiB", html)


def test_report_and_compare_read_a_file_with_a_torn_last_line(tmp_path, suite, caplog):
    path = write(tmp_path / "r.jsonl", suite)
    with open(path, "a") as handle:
        handle.write('{"schema": 1, "strategy": "gener')  # a kill mid-write
    html = render(tmp_path, path)
    assert all(r.strategy in html for r in suite)
    assert main(["compare", str(path), str(path)]) == 0
    assert f"{path}:6: skipped a torn last line" in caplog.text
