"""The memory model: each term from hand-written records, and the error against measured."""

from __future__ import annotations

from dataclasses import replace

import pytest
from record_factory import make

from loadbench.reports.memory_model import RUNTIME_BYTES, predict, table

SAMPLE = 28_672  # 64x64: two RGB images and a mask
PAIRS = 1_000
BATCH = 32
FLOAT_BATCH = 4 * BATCH * SAMPLE


def run(strategy: str, profile: dict | None, **options):
    dataset = {"root": "synthetic", "split": "train", "pairs": PAIRS, "bytes_per_sample": SAMPLE}
    options = {
        "batch_size": BATCH,
        "cache": "none",
        "shuffle_buffer": 0,
        "prefetch": -1,
        "parallelism": -1,
        "steps": 10,
        "warmup_steps": 2,
        **options,
    }
    return make(
        strategy,
        dataset={**dataset, "image_size": [64, 64]},
        options=options,
        steps=options["steps"],  # a time floor could have taken more than asked
        memory_profile=profile,
    )


def test_streaming_strategy_holds_three_float_batches_and_the_batch_being_built():
    prediction = predict(run("generator", {"why": "nothing of its own"}))
    assert prediction.terms == {
        "float batches": 3 * FLOAT_BATCH,
        "batch being assembled": BATCH * SAMPLE,
        "runtime": RUNTIME_BYTES,
    }
    assert prediction.peak_bytes == sum(prediction.terms.values())


def test_decoded_split_scales_with_the_dataset():
    record = run("tensor_slices", {"split_copies": 2})
    small = predict(record)
    bigger = predict(replace(record, dataset={**record.dataset, "pairs": 2 * PAIRS}))
    assert small.terms["decoded split"] == 2 * PAIRS * SAMPLE
    assert bigger.peak_bytes - small.peak_bytes == 2 * PAIRS * SAMPLE


def test_memory_cache_holds_what_was_read_and_shuffle_its_buffer():
    short = predict(run("generator", {}, cache="memory", shuffle_buffer=600))
    # 12 batches of 32 read plus 3 ahead: 480 of the 1,000 samples are cached, and the
    # shuffle buffer's 600 samples share those tensors: only 120 more.
    assert short.terms["in-memory cache"] == (2 + 10 + 3) * BATCH * SAMPLE
    assert short.terms["shuffle buffer"] == (600 - 480) * SAMPLE
    assert predict(run("generator", {}, shuffle_buffer=600)).terms["shuffle buffer"] == (
        600 * SAMPLE
    )
    long = predict(run("generator", {}, cache="memory", steps=100))
    assert long.terms["in-memory cache"] == PAIRS * SAMPLE  # never more than the split
    assert "in-memory cache" not in predict(run("generator", {}, cache="file")).terms


def test_float32_samples_hold_four_bytes_a_value_in_cache_buffer_and_batches():
    """The seed article's generator makes float32 itself: everything after it is 4x."""
    floats = {"sample_element_bytes": 4}
    uint8 = predict(run("generator", {}, cache="memory", shuffle_buffer=600, steps=100))
    made = predict(run("article", floats, cache="memory", shuffle_buffer=600, steps=100))
    assert made.terms["in-memory cache"] == 4 * uint8.terms["in-memory cache"] == 4 * PAIRS * SAMPLE
    assert made.terms["float batches"] == uint8.terms["float batches"] == 3 * FLOAT_BATCH
    assert made.terms["batch being assembled"] == 4 * BATCH * SAMPLE
    shuffled = predict(run("article", floats, shuffle_buffer=600))
    assert shuffled.terms["shuffle buffer"] == 4 * 600 * SAMPLE
    # handed over as uint8 by the others, as float32 by the article whatever normalize says
    device = predict(run("article", floats, normalize="device"))
    assert device.terms["float batches"] == 3 * FLOAT_BATCH


def test_mapped_split_counts_pages_read_and_staged_batches_count_batches():
    prediction = predict(run("memmap", {"mapped_split": True, "staged_batches": 10}, steps=100))
    assert prediction.terms["mapped pages"] == PAIRS * SAMPLE
    assert prediction.terms["strategy's buffers"] == 10 * BATCH * SAMPLE


def test_no_prefetch_holds_one_float_batch_fewer():
    auto = predict(run("generator", {})).terms["float batches"]
    off = predict(run("generator", {}, prefetch=0)).terms["float batches"]
    deep = predict(run("generator", {}, prefetch=8)).terms["float batches"]
    assert auto - off == FLOAT_BATCH and deep == auto


@pytest.mark.parametrize(
    "record",
    [
        make("generator", mode="train", memory_profile={}),  # the model's own memory
        make("my.pkg:Reader", memory_profile=None),  # declared nothing
        make("fixed_length", memory_profile={}, options={"service": "2"}),  # workers too
    ],
)
def test_no_prediction_where_the_model_does_not_apply(record):
    assert predict(record) is None


def test_table_gives_the_error_against_measured():
    profile = {"why": "test"}
    expected = predict(run("generator", profile)).peak_bytes
    on_target = run("generator", profile).updated(peak_rss_bytes=expected)
    far_off = run("generator", profile).updated(peak_rss_bytes=expected // 2)
    rows = table([on_target, far_off, make("x", status="error")])
    assert list(rows["error"]) == [0.0, pytest.approx(1.0, abs=1e-6)]
    assert list(rows["within"]) == [True, False]


def test_a_run_with_worker_processes_is_measured_by_its_tree_pss():
    profile = {"staged_batches": 7.0, "worker_processes": 2, "why": "two worker processes"}
    forked = run("sequence", profile).updated(
        tree_processes=3,
        peak_pss_bytes=300_000_000,
        peak_rss_bytes=900_000_000,  # the parent's pages counted once per worker
    )
    [row] = table([forked]).itertuples()
    assert row.measured == 300_000_000  # PSS, not the summed RSS
    assert row.predicted == predict(forked).peak_bytes
    threads = forked.updated(tree_processes=1, memory_profile={**profile, "worker_processes": 0})
    [row] = table([threads]).itertuples()
    assert row.measured == 900_000_000  # one process: its RSS, as the model was calibrated


def test_workers_forked_again_past_the_first_epoch_keep_the_float_batches():
    profile = {"staged_batches": 7.0, "worker_processes": 2, "why": "two worker processes"}
    # 2 + 10 batches of 32, and 3 that tf.data runs ahead: 480 of the 1,000 pairs pulled.
    first_epoch = predict(run("sequence", profile))
    assert "workers forked again" not in first_epoch.terms
    # 2 + 40 + 3 batches: 1,440 pairs, past the epoch's end, so Keras forked a new pool.
    second_epoch = predict(run("sequence", profile, steps=40))
    assert second_epoch.terms["workers forked again"] == second_epoch.terms["float batches"]
    # Only the batches tf.data pulls count, not the enqueuer's queue: 2 + 26 + 3 batches
    # of 32 (992 pairs) stay within the epoch, the 7 staged ahead are the epoch's own.
    assert "workers forked again" not in predict(run("sequence", profile, steps=26)).terms
    threads = predict(run("sequence", {**profile, "worker_processes": 0}, steps=40))
    assert "workers forked again" not in threads.terms


def test_samples_read_are_the_steps_taken_not_the_steps_asked():
    asked = run("memmap", {"mapped_split": True})
    extended = asked.updated(steps=20)  # a time floor took 20 batches where 10 were asked
    grown = extended.throughput.steps - asked.throughput.steps
    mapped = predict(extended).terms["mapped pages"] - predict(asked).terms["mapped pages"]
    assert mapped == grown * BATCH * SAMPLE
