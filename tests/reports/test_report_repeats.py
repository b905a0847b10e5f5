"""The report of repeated measurements: medians with their range, unstable flags, PSS
against summed RSS, the busy share of the training step and the machine's ceilings."""

from __future__ import annotations

import html as markup
import re

import pandas as pd
from record_factory import make, write
from rendering import render

from loadbench.reports import figures
from loadbench.reports.summary import UNSTABLE_HINT, VARIES_HINT, summary
from loadbench.reports.text import run_summary, wide_summary

WORKERS = [
    {"pid": 11, "name": "worker-a", "peak_rss_bytes": 410_000_000, "peak_pss_bytes": 150_000_000},
    {"pid": 12, "name": "worker-b", "peak_rss_bytes": 405_000_000, "peak_pss_bytes": 148_000_000},
]


def repeats(strategy: str, rates: list[float], mode: str = "iterate", **fields) -> list:
    """One record per repeat, with the given throughputs."""
    return [
        make(strategy, mode=mode, samples_per_s=rate, repeat=index, **fields)
        for index, rate in enumerate(rates)
    ]


def row_of(page: str, strategy: str, start: int = 0) -> str:
    """The first table row at or after ``start`` whose first cell names ``strategy``."""
    found = re.compile(rf'<tr[^>]*>\s*<td class="text">{re.escape(strategy)}\b.*?</tr>', re.S)
    match = found.search(page, start)
    assert match, f"no row for {strategy}"
    return match.group(0)


def text(page: str) -> str:
    """The page without tags, entities decoded, whitespace collapsed."""
    return " ".join(markup.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_cells_show_the_median_and_range_of_the_repeats(tmp_path):
    runs = repeats("generator", [990.0, 1000.0, 1010.0], peak_pss_bytes=80_000_000)
    runs += repeats("tfrecord", [2000.0])
    page = render(tmp_path, write(tmp_path / "r.jsonl", runs))
    row = text(row_of(page, "generator"))
    assert "3/3 ok" in row
    assert "1,000 samples/s (990-1,010, CV 1%)" in row
    assert "80.0 MB (all 3 equal)" in row  # peak PSS: the repeats agree
    single = text(row_of(page, "tfrecord"))
    assert "1/1 ok" in single and "2,000 samples/s" in single and "CV" not in single
    assert "unstable" not in single


def test_an_unstable_measurement_is_flagged_with_its_reason(tmp_path):
    runs = repeats("generator", [500.0, 1000.0, 1500.0]) + repeats("tfrecord", [1000.0] * 3)
    page = render(tmp_path, write(tmp_path / "r.jsonl", runs))
    assert re.search(r'<tr class="unstable">\s*<td class="text">generator', page)
    assert f"unstable: samples/s CV 50% (>= 10%); {UNSTABLE_HINT}" in text(page)
    assert 'class="unstable"' not in row_of(page, "tfrecord")


def test_peaks_the_kernel_saw_apart_are_shown_as_varying_not_unstable(tmp_path):
    runs = [
        make("files", samples_per_s=1000.0, peak_pss_bytes=peak, repeat=index, kernel_agreement=1)
        for index, peak in enumerate([60e6, 75e6, 74e6])
    ]
    page = render(tmp_path, write(tmp_path / "r.jsonl", runs))
    assert re.search(r'<tr class="varies">\s*<td class="text">files', page)
    row = text(row_of(page, "files"))
    assert "varies" in row and "unstable" not in row
    said = "varies between runs: peak PSS differs 20% between repeats (> 5%) (what varies"
    assert said in text(page)
    assert text(page).count(VARIES_HINT) == 1  # told once, below the tables, not on each row
    wide = wide_summary(runs)
    assert "~ varies between runs" in wide and "* unstable" not in wide
    assert re.search(r"^iterate +files .* ~$", wide, re.M)
    # The narrow table marks it too: peaks 20% apart would pass or fail compare's 10%.
    printed = run_summary(runs)
    assert re.search(r"^iterate +files .* ~$", printed, re.M)
    assert "~ repeats disagree enough to change a decision: peak past the gate's 10%: " in printed
    assert "iterate files (-v: why)" in printed
    reasons = run_summary(runs, verbose=True).splitlines()
    assert "  iterate files varies: peak PSS differs 20% between repeats (> 5%)" in reasons


def test_a_failed_repeat_shows_in_the_repeats_count(tmp_path):
    killed = make("generator", status="killed", error="killed", samples_per_s=None, repeat=2)
    runs = [*repeats("generator", [1000.0, 1010.0]), killed]
    page = render(tmp_path, write(tmp_path / "r.jsonl", runs))
    row = row_of(page, "generator")
    assert '<td class="partial">2/3 ok</td>' in row
    assert "1,005 samples/s (1,000-1,010, CV 1%)" in text(row)


def test_the_accelerator_section_tells_starved_from_busy(tmp_path):
    train = {
        "mode": "train",
        "accelerator": "h100",
        "accelerator_source": "derived",
        "accelerator_step_s": 0.049,
        "options": {"batch_size": 32, "normalize": "device", "accelerator": None},
    }
    runs = repeats(
        "generator",
        [70.0, 72.0, 74.0],
        input_bound_share=0.6,
        accelerator_busy_share=0.4,
        accelerators_fed=0,
        **train,
    )
    runs += repeats(
        "tensor_slices",
        [180.0, 181.0, 182.0],
        input_bound_share=0.1,
        accelerator_busy_share=0.9,
        accelerators_fed=4,
        **train,
    )
    runs += [
        make(
            "fixed_length",
            accelerator_busy_share=0.97,
            input_bound_share=0.03,
            accelerators_fed=128,
            accelerators_fed_capped=True,
            **train,
        )
    ]
    page = render(tmp_path, write(tmp_path / "r.jsonl", runs))
    assert "<h2>Would it keep H100 busy?</h2>" in page
    section = page[page.index("<h2>Would it keep H100 busy?</h2>") :]
    assert "step time derived (not measured on the device)" in section
    assert "49.0 ms per batch of 32" in section
    assert page.count('src="data:image/png;base64,') == 5  # the four figures and the AU bars
    generator = text(row_of(section, "generator"))
    assert "starves it: busy 40.0%" in generator and "highly input-bound" in generator
    tensor_slices = text(row_of(section, "tensor_slices"))
    assert "keeps it busy" in tensor_slices and "moderately input-bound" in tensor_slices
    assert " 4 " in f" {tensor_slices} "
    fixed_length = text(row_of(section, "fixed_length"))
    assert "at least 128" in fixed_length and "not input-bound" in fixed_length


def test_no_busy_section_without_training_records(tmp_path, suite):
    page = render(tmp_path, write(tmp_path / "r.jsonl", suite))
    assert (
        "Would it keep" not in page and "This machine" not in page and "<h3>Processes" not in page
    )


def test_the_ceilings_section_shows_each_strategys_fraction(tmp_path):
    steps = {"batch_size": 32, "cache": "none", "steps": 200, "warmup_steps": 2}
    runs = repeats("ceiling_decode", [990.0, 1000.0, 1010.0], dataset_graph_bytes=None)
    runs += repeats("ceiling_copy", [8000.0] * 3, options=steps, dataset_graph_bytes=None)
    runs += [
        make("generator", samples_per_s=rate, ceiling="ceiling_decode")
        for rate in (480.0, 500.0, 520.0)
    ]
    runs += [make("tfrecord", samples_per_s=4000.0, ceiling="ceiling_copy")]
    page = render(tmp_path, write(tmp_path / "r.jsonl", runs))
    assert "<h2>This machine's ceilings</h2>" in page
    section = page[page.index("<h2>This machine's ceilings</h2>") :]
    assert "1,000 samples/s (990-1,010, CV 1%)" in text(row_of(section, "ceiling_decode"))
    assert "decoded in parallel by tf.data" in section and "copied from memory" in section
    generator = text(row_of(section, "generator"))
    assert "ceiling_decode" in generator and "50.0% (48.0%-52.0%)" in generator
    assert "ceiling_copy" in text(row_of(section, "tfrecord"))
    assert "normalized on the host pays the float conversion on top" in text(section)
    # in the summary table: italic, labelled, never the best
    ceiling = row_of(page, "ceiling_decode")
    assert 'class="ceiling"' in ceiling and "machine ceiling" in ceiling
    assert 'class="best"' not in ceiling


def test_memray_of_a_multi_process_tree_covers_the_main_process_only(tmp_path):
    runs = [
        make("sequence", tree_processes=3, process_peaks=WORKERS, memray_peak_bytes=42_000_000),
        make("generator", tree_processes=1, memray_peak_bytes=40_000_000),
    ]
    page = render(tmp_path, write(tmp_path / "r.jsonl", runs))
    assert "42.0 MB (main process only)" in text(row_of(page, "sequence"))
    assert "main process only" not in row_of(page, "generator")


def test_the_processes_table_shows_pss_below_summed_rss(tmp_path):
    runs = repeats(
        "sequence",
        [400.0, 410.0],
        tree_processes=3,
        process_peaks=WORKERS,
        peak_pss_bytes=350_000_000,
        peak_rss_bytes=900_000_000,
    )
    runs.append(make("generator", tree_processes=1))
    page = render(tmp_path, write(tmp_path / "r.jsonl", runs))
    section = page[page.index("<h3>Processes</h3>") :]
    section = section[: section.index("</table>")]
    tree = text(row_of(section, "sequence"))
    assert "3" in tree and "350.0 MB (all 2 equal)" in tree and "900.0 MB (all 2 equal)" in tree
    assert "peak PSS" in section and "peak RSS (summed)" in section
    worker = text(row_of(section, "worker-a"))
    assert "pid 11" in worker and "150.0 MB" in worker and "410.0 MB" in worker
    assert "worker-b" in section and "generator" not in section


def test_peak_memory_says_which_figure_it_plots(tmp_path):
    both = summary([make("generator", peak_pss_bytes=50_000_000), make("memmap")])
    assert figures.memory_label(both) == "PSS (tree, shared pages once), else RSS (summed)"
    assert figures.memory_label(summary([make("memmap")])) == "RSS (summed)"
    pss = summary([make("generator", peak_pss_bytes=50_000_000)])
    assert figures.memory_label(pss) == "PSS (tree, shared pages once)"
    runs = [make("generator", peak_pss_bytes=50_000_000), make("memmap")]
    page = render(tmp_path, write(tmp_path / "r.jsonl", runs))
    assert "PSS could not be read for memmap: their bars are summed RSS" in page


def test_figures_draw_with_missing_figures_and_repeats():
    runs = repeats(
        "generator",
        [100.0, 120.0],
        input_bound_share=0.3,
        accelerator_busy_share=0.7,
        mode="train",
    )
    runs += [make("tfrecord", mode="train", samples_per_s=None, peak_rss_bytes=None)]
    table = summary(runs)
    assert pd.isna(table.loc[1, "input_bound_share"])
    for png in (
        figures.throughput(table),
        figures.peak_memory(table),
        figures.busy_share(table, list(table["strategy"]), "H100"),
    ):
        assert png.startswith(b"\x89PNG")


def test_pytest_benchmark_json_with_repeats_loads_every_repeat(tmp_path):
    import json
    from dataclasses import asdict

    from loadbench.reports.load import load

    runs = [make("generator", samples_per_s=v, repeat=i) for i, v in enumerate((90, 100, 110))]
    info = {
        **asdict(runs[-1]),
        "repeat_records": [asdict(r) for r in runs[:-1]],
        "spread": {"samples_per_s": {"median": 100.0, "low": 90.0, "high": 110.0}},
    }
    path = tmp_path / "bench.json"
    bench = {"name": "test_strategy[generator-iterate]", "stats": {}, "extra_info": info}
    path.write_text(json.dumps({"benchmarks": [bench]}))
    loaded = load([path])
    assert [(r.repeat, r.throughput.samples_per_s) for r in loaded] == [(0, 90), (1, 100), (2, 110)]


def test_the_run_summary_sets_the_copy_ceiling_against_numpys_copy():
    from loadbench.reports.text import run_summary

    written = [
        make("ceiling_copy", samples_per_s=s, reference_samples_per_s=r, repeat=k)
        for k, (s, r) in enumerate([(9_000.0, 10_000.0), (8_000.0, 10_000.0), (10_000.0, 12_000.0)])
    ] + [make("fixed_length", samples_per_s=4_000.0)]
    said = [
        "ceiling_copy: 9,000 samples/s, 0.90x numpy copying the same batches once in the same "
        "child (10,000 samples/s)"
    ]
    assert [line for line in run_summary(written).splitlines() if "numpy" in line] == []
    verbose = run_summary(written, verbose=True)
    assert [line for line in verbose.splitlines() if "numpy" in line] == said
    assert [line for line in wide_summary(written).splitlines() if "numpy" in line] == said


def test_the_run_summary_says_when_positional_pairing_went_wrong():
    from loadbench.reports.text import run_summary

    pairing = {
        "rule": "zip(sorted(time1), sorted(time2), sorted(label))",
        "triples": 59,
        "mispaired": 54,
        "first_mispaired": [["000005.png", "000006.png", "000005.png"]],
        "dropped": [],
    }
    whole = {**pairing, "mispaired": 0, "first_mispaired": []}
    lines = run_summary([make("article", pairing=pairing), make("generator")]).splitlines()
    assert [line for line in lines if "mispaired" in line] == [
        "article: zip(sorted(time1), sorted(time2), sorted(label)) mispaired 54 of 59 samples "
        "(the first: 000005.png, 000006.png,"
    ]
    folded = lines[lines.index(next(x for x in lines if "mispaired" in x)) + 1]
    assert folded == "  000005.png); the report lists them"  # 120 characters at most
    assert "mispaired" not in run_summary([make("article", pairing=whole)])
