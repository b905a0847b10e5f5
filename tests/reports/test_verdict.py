"""The verdict ``loadbench run`` prints first: which strategies keep the accelerator 90%
busy, the leanest of them, and what to avoid and why, from hand-written records."""

from __future__ import annotations

from record_factory import MACHINE, make, trained

from loadbench.reports.records import PROTOBUF_LIMIT_BYTES
from loadbench.reports.verdict import BUSY_LINE, verdict

THOUSAND_PAIRS = {
    "root": "synthetic",
    "split": "train",
    "pairs": 1000,
    "image_size": [64, 64],
    "bytes_per_sample": 28672,
}


def iterated(strategy: str, **fields):
    """An iterating run on 1,000 pairs, measured on a machine with 64 GB of RAM."""
    env = {**MACHINE, "ram_bytes": 64_000_000_000, "tensorflow": "2.21.0", "gpu": None}
    return make(strategy, dataset=THOUSAND_PAIRS, env=env, **fields)


def three_strategies_trained() -> list:
    """generator and tfrecord keep the H100 busy; tensor_slices starves it but has the
    lowest peak of all."""
    return [
        trained("generator", 0.95),
        trained("tfrecord", 0.97),
        trained("tensor_slices", 0.50),
        make("generator", peak_rss_bytes=300_000_000),
        make("tfrecord", peak_rss_bytes=200_000_000),
        make("tensor_slices", peak_rss_bytes=100_000_000),
    ]


def test_the_strategies_past_the_90_percent_line_are_named_and_counted():
    found = verdict(three_strategies_trained())
    assert found.passing == "2 of 3 strategies keep it at least 90% busy: generator, tfrecord"
    assert found.headline == (
        "verdict: 100 pairs of 64x64 (2.9 MB); 2 CPUs, n/a RAM, no GPU; "
        "an emulated H100 (49.0 ms a step)"
    )


def test_the_pick_is_the_lowest_peak_among_those_that_pass():
    found = verdict(three_strategies_trained())
    # tensor_slices' 100 MB is lower still, but it starves the accelerator.
    assert found.pick == "use tfrecord: the lowest peak memory among them, 200.0 MB (busy 97%)"


def test_the_pick_gives_the_largest_of_its_repeats_to_plan_with():
    runs = [
        *three_strategies_trained(),
        make("tfrecord", peak_rss_bytes=230_000_000, repeat=1),
        make("tfrecord", peak_rss_bytes=210_000_000, repeat=2),
    ]
    assert verdict(runs).pick == (
        "use tfrecord: the lowest peak memory among them, 210.0 MB, at most 230.0 MB in 3 runs "
        "(busy 97%)"
    )


def test_the_pick_gives_the_range_of_accelerators_fed_over_its_repeats():
    runs = [
        trained("generator", 0.50),
        *(trained("tfrecord", 0.97, accelerators_fed=n, repeat=i) for i, n in enumerate((5, 3, 3))),
    ]
    assert verdict(runs).pick.endswith("(busy 97%, feeds 3-5 such accelerators)")
    same = [trained("tfrecord", 0.97, accelerators_fed=1, repeat=i) for i in range(2)]
    assert verdict(same).pick.endswith("(busy 97%, feeds 1 such accelerator)")


def test_the_pick_reads_the_training_peak_where_nothing_was_iterated():
    runs = [
        trained("generator", 0.95, peak_rss_bytes=300_000_000),
        trained("tfrecord", 0.91, peak_rss_bytes=250_000_000),
    ]
    assert verdict(runs).pick == (
        "use tfrecord: the lowest peak memory among them, 250.0 MB (busy 91%)"
    )


def test_a_strategy_under_the_line_is_avoided_with_its_busy_share():
    found = verdict(three_strategies_trained())
    assert found.avoid == ("avoid tensor_slices: starves it, busy 50%",)
    assert found.lines()[-1] == "  avoid tensor_slices: starves it, busy 50%"


def test_just_under_the_line_never_reads_as_on_it():
    found = verdict([trained("generator", 0.8995), trained("tfrecord", BUSY_LINE)])
    assert found.passing == "1 of 2 strategies keep it at least 90% busy: tfrecord"
    assert found.avoid == ("avoid generator: starves it, busy 89.9%",)


def test_where_none_passes_the_closest_is_named_and_each_is_avoided():
    found = verdict([trained("tensor_slices", 0.50), trained("generator", 0.80)])
    assert found.passing == "none of 2 strategies keeps it 90% busy"
    assert found.pick.startswith("closest: generator, busy 80%;")
    assert found.avoid == (
        "avoid tensor_slices: starves it, busy 50%",
        "avoid generator: starves it, busy 80%",
    )


def test_a_graph_that_holds_the_data_says_where_it_passes_2_gib():
    graph = PROTOBUF_LIMIT_BYTES // 5 + 1  # a fifth of the limit on 1,000 pairs: 5,000
    runs = [iterated("tensor_slices", dataset_graph_bytes=graph), iterated("generator")]
    assert verdict(runs).avoid == (
        "avoid tensor_slices for more data: its graph holds the data (429.5 MB here), "
        "past 2 GiB at about 5,000 pairs",
    )


def test_a_graph_already_past_the_limit_says_so():
    runs = [iterated("tensor_slices", graph_over_limit=True), iterated("generator")]
    assert verdict(runs).avoid == ("avoid tensor_slices: its dataset graph passes 2 GiB already",)


def test_a_strategy_that_holds_the_split_says_where_it_fills_the_ram():
    held = iterated("memmap", peak_rss_bytes=900_000_000, memory_profile={"split_copies": 1})
    runs = [held, iterated("generator", peak_rss_bytes=90_000_000)]
    # 64 GB / 900 MB * 1,000 pairs = 71,111: about 71,000 to two figures.
    assert verdict(runs).avoid == (
        "avoid memmap for more data: it holds the split (900.0 MB here); 64.0 GB of RAM "
        "full at about 71,000 pairs",
    )


def test_a_failed_strategy_is_avoided_with_its_first_error_line():
    failed = make("sequence", status="error", error="OOM in the worker\nTraceback ...")
    found = verdict([make("generator"), failed])
    assert found.avoid == ("avoid sequence (iterate): error: OOM in the worker",)


def test_without_training_runs_the_verdict_says_so_and_picks_the_leanest():
    runs = [
        make("generator", peak_rss_bytes=300_000_000),
        make("tfrecord", peak_rss_bytes=120_000_000),
    ]
    found = verdict(runs)
    assert found.passing == (
        "no training runs, so no accelerator to judge against: run with --mode both "
        "(the default) for which strategies keep it busy"
    )
    assert found.pick == "use tfrecord: the lowest peak memory among them, 120.0 MB"
    assert found.headline == "verdict: 100 pairs of 64x64 (2.9 MB); 2 CPUs, n/a RAM, no GPU"


def test_ceilings_alone_or_nothing_have_no_verdict():
    assert verdict([make("ceiling_copy"), make("ceiling_decode")]) is None
    assert verdict([]) is None


def test_a_run_whose_memory_was_still_rising_says_its_peak_is_a_floor():
    runs = [
        trained("generator", 0.95, peak_rss_bytes=300_000_000, settled=True, settle_s=3.0),
        trained("tfrecord", 0.97, peak_rss_bytes=200_000_000, settled=False, settle_s=30.0),
    ]
    found = verdict(runs)
    assert found.avoid == (
        "tfrecord (train): its memory was still rising at --max-time: its peak is a floor, "
        "not its plateau",
    )
