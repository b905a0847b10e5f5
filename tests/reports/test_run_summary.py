"""What ``loadbench run`` prints at the end: the verdict, then a table of at most 120
columns whose '~' marks only rows whose repeats' spread changes a decision."""

from __future__ import annotations

import re

from record_factory import make, trained

from loadbench.reports.text import MARK, run_summary

STRATEGIES = (
    "tensor_slices",
    "generator",
    "sequence",
    "tfrecord",
    "memmap",
    "files",
    "fixed_length",
    "mypipelines.imagery:make_dataset",  # a user's MODULE:FUNCTION, the longest name
)


WORDY_ERROR = "ResourceExhaustedError: " + "OOM when allocating a tensor " * 10


def eighteen_rows() -> list:
    """Eight strategies iterating and training, three repeats each, with every narrow
    column filled at its widest plausible value, and the two ceilings: 18 rows."""
    records = []
    for index, name in enumerate(STRATEGIES):
        for repeat in range(3):
            figures = dict(
                repeat=repeat,
                samples_per_s=123_456.0 + repeat,
                first_batch_s=12.345,
                peak_pss_bytes=(index + 1) * 1_234_567_890,
                peak_rss_bytes=(index + 1) * 2_345_678_901,
                gpu_peak_bytes=(index + 1) * 987_654_321,
                dataset_graph_bytes=(index + 1) * 123_456_789,
            )
            busy = 0.86 + 0.05 * repeat if name == "generator" else 0.95
            records.append(trained(name, busy, accelerators_fed=12, **figures))
            if name == "fixed_length":  # every repeat failed: the row says why, cut short
                records.append(make(name, status="error", error=WORDY_ERROR, repeat=repeat))
            else:
                records.append(make(name, **figures))
    for repeat in range(3):
        records.append(make("ceiling_decode", samples_per_s=234_567.0, repeat=repeat))
        records.append(make("ceiling_copy", samples_per_s=934_567.0, repeat=repeat))
    return records


def rows(printed: str) -> list[str]:
    return [line for line in printed.splitlines() if line.startswith(("iterate ", "train "))]


def test_every_line_of_an_18_row_summary_fits_120_characters():
    written = eighteen_rows()
    printed = run_summary(written)
    assert len(rows(printed)) == 18
    [failed] = [line for line in rows(printed) if "ResourceExhausted" in line]
    assert re.match(r"iterate +fixed_length +0/3 +error: ResourceExhaustedError: OOM", failed)
    assert printed.splitlines()[1].startswith("verdict: ")
    assert "8 of 8 strategies keep it at least 90% busy: tensor_slices," in printed
    widest = max(printed.splitlines(), key=len)
    assert len(widest) <= 120, widest
    verbose = run_summary(written, verbose=True)
    widest = max(verbose.splitlines(), key=len)
    assert len(widest) <= 120, widest
    assert len(verbose.splitlines()) > len(printed.splitlines())


def test_a_row_whose_busy_repeats_straddle_the_line_is_marked_and_named_below():
    runs = [trained("generator", busy, repeat=k) for k, busy in enumerate([0.86, 0.91, 0.96])]
    runs += [trained("tfrecord", busy, repeat=k) for k, busy in enumerate([0.95, 0.95, 0.96])]
    printed = run_summary(runs)
    [straddles] = [line for line in rows(printed) if re.match(r"train +generator ", line)]
    assert straddles.endswith(f" {MARK}")
    assert " 91% " in straddles  # the median
    below = printed.splitlines()[-1]
    assert below == (
        f"{MARK} repeats disagree enough to change a decision: busy crosses the line: "
        "train generator 86%-96% (-v: why)"
    )


def test_a_row_whose_repeats_agree_gets_no_mark():
    runs = [trained("tfrecord", busy, repeat=k) for k, busy in enumerate([0.95, 0.95, 0.96])]
    runs += [make("tfrecord", peak_pss_bytes=80_000_000, repeat=k) for k in range(3)]
    printed = run_summary(runs)
    assert [line.endswith(MARK) for line in rows(printed)] == [False, False]
    assert "disagree" not in printed


def test_a_run_that_hit_its_cap_unsettled_is_marked_and_said():
    runs = [
        trained("generator", 0.95, settled=True, settle_s=3.0),
        trained("tfrecord", 0.97, settled=False, settle_s=30.0),
    ]
    printed = run_summary(runs)
    row = next(line for line in printed.splitlines() if line.startswith("train    tfrecord"))
    assert row.endswith(" ~")
    assert "memory still rising at --max-time: train tfrecord" in printed
    assert not next(
        line for line in printed.splitlines() if line.startswith("train    generator")
    ).endswith("~")
