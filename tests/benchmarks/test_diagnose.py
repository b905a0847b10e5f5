"""``loadbench diagnose``: a pipeline's stages described from its datasets, each prefix
measured alone, and the stage that starves the accelerator named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import staged_pipelines
from record_factory import make

from loadbench.cli import main
from loadbench.harness.child import stages
from loadbench.harness.commands import diagnose
from loadbench.reports import jsonl

HERE = Path(__file__).parent
STAGED = str(HERE / "staged_pipelines.py")
USER = str(HERE / "user_pipelines.py")


def _generated():
    import numpy as np
    import tensorflow as tf

    def pairs():
        for i in range(8):
            yield np.full((2, 2), i, np.uint8)

    return tf.data.Dataset.from_generator(pairs, output_signature=tf.TensorSpec((2, 2), tf.uint8))


def test_stages_are_read_from_the_datasets_source_first_with_functions_and_settings():
    import tensorflow as tf

    def read(path):
        return tf.io.decode_png(tf.io.read_file(path))

    def cheap(image):
        return tf.cast(image, tf.float32)

    ds = tf.data.Dataset.from_tensor_slices(["a.png", "b.png"]).map(read, num_parallel_calls=3)
    ds = ds.shuffle(5).map(cheap).batch(4).prefetch(tf.data.AUTOTUNE)
    found = stages.describe(ds.with_options(tf.data.Options()))
    assert [s.call for s in found] == [
        "from_tensor_slices()",
        "map(read, parallel=3)",
        "shuffle(5)",
        "map(cheap)",
        "batch(4)",
        "prefetch(AUTOTUNE)",
    ]
    assert found[1].decoding == ("DecodePng",) and found[1].reading == ("ReadFile",)
    assert not found[1].sequential and found[3].sequential
    assert [s.batched for s in found] == [False] * 4 + [True] * 2
    assert found[4].batch_size == 4


def test_from_generator_is_one_stage_named_after_its_generator_and_python():
    found = stages.describe(_generated().batch(2))
    assert [s.call for s in found] == ["from_generator(pairs)", "batch(2)"]
    assert found[0].python


def test_a_prefix_is_the_pipeline_up_to_its_stage_with_the_whole_pipelines_options():
    import tensorflow as tf

    options = tf.data.Options()
    options.deterministic = False
    ds = _generated().map(lambda x: x + 1).batch(2).with_options(options)
    first, batched = stages.prefix(ds, 1)
    assert [int(x[0, 0]) for x in first.take(3)] == [1, 2, 3] and not batched
    assert first.options().deterministic is False
    whole, batched = stages.prefix(ds, 2)
    assert next(iter(whole)).shape == (2, 2, 2) and batched
    assert stages.counted(True)(next(iter(whole)))[1] == 2
    with pytest.raises(IndexError, match="stages 0 to 2"):
        stages.prefix(ds, 3)


def test_a_py_dataset_is_named_as_one():
    import user_pipelines

    from loadbench.harness.commands import pipelines

    ds = pipelines.call("user_pipelines:py_dataset", user_pipelines.py_dataset, {})
    first = stages.describe(ds)[0]
    assert first.call == "from_generator(PyDataset)" and first.python and first.batched
    assert "Keras PyDataset" in diagnose.cause(first)


def test_a_pipeline_without_a_batch_stage_hands_over_batches_already():
    found = stages.describe(_generated())
    assert found[0].batched


@pytest.mark.parametrize(
    ("rates", "expected"),
    [
        ([200, 260, 255, 262], 0),  # the source is as slow as the whole
        ([7000, 710, 783, 718, 732], 1),  # a decoding map, the rest within noise
        ([15000, 14000, 14500, 227, 225, 229], 3),  # the sleeping map
        ([1000, 600, 300], 2),  # two slow stages: where it falls to its lowest
        ([1e6, 300, 300, 900], 1),  # a cache lifts it after
        ([None, 500, None], 1),  # stages that failed are left out
        ([None], None),
    ],
)
def test_the_bottleneck_is_where_the_rate_falls_to_the_level_it_ends_at(rates, expected):
    assert diagnose.bottleneck(rates) == expected


def _record(stage, samples_per_s, busy=None):
    options = {} if stage is None else {"stage": stage, "stage_call": "x"}
    return make(
        strategy="p",
        mode="iterate" if stage is not None else "train",
        options=options,
        samples_per_s=samples_per_s,
        peak_pss_bytes=1_000_000,
        accelerator_step_s=0.05 if stage is None else None,
        accelerator_busy_share=busy,
        accelerator="h100" if stage is None else None,
    )


def _described(batch: int = 32):
    found = [
        stages.Stage(0, "from_tensor_slices", "from_tensor_slices()"),
        stages.Stage(1, "map", "map(read)", "read", sequential=True, ops=("DecodePng",)),
        stages.Stage(2, "batch", f"batch({batch})", batched=True, batch_size=batch),
    ]
    return diagnose.Described(stages=found, samples_per_batch=batch, element_spec="")


def test_a_stage_below_the_demand_starves_the_accelerator():
    records = [
        _record(0, 9000.0),
        _record(1, 300.0),
        _record(2, 310.0),
        _record(None, 300.0, busy=0.45),
    ]
    found = diagnose.diagnose(_described(), records)
    assert found.demand_samples_per_s == pytest.approx(640)  # 32 every 50 ms
    assert found.bottleneck == 1 and found.starved
    assert [r.bottleneck for r in found.rows] == [False, True, False]
    assert found.rows[1].share == pytest.approx(300 / 640)
    assert found.rows[2].elements_per_s == pytest.approx(310 / 32)
    assert "decoding (DecodePng)" in found.cause and "sequential map" in found.cause


def test_every_stage_meeting_the_demand_under_the_line_is_the_hand_over():
    records = [_record(i, 5000.0) for i in range(3)]
    records.append(_record(None, 600.0, busy=0.80))
    found = diagnose.diagnose(_described(), records)
    assert found.bottleneck is None and found.starved and "hand-over" in found.cause
    assert not any(r.bottleneck for r in found.rows)


def test_nothing_starves_a_pipeline_above_the_demand_and_the_line():
    records = [_record(i, r) for i, r in enumerate([9000.0, 900.0, 880.0])]
    records.append(_record(None, 640.0, busy=0.97))
    found = diagnose.diagnose(_described(), records)
    assert found.bottleneck == 1 and not found.starved
    assert json.loads(json.dumps(diagnose.as_json(found)))[1]["bottleneck"] is True


def run(tmp_path: Path, *argv: str) -> int:
    return main(["diagnose", *argv, "--out", str(tmp_path / "out")])


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["not_a_strategy"], "not_a_strategy"),
        (["ceiling_copy"], "ceiling_copy: one of the machine's ceilings"),
        ([f"{USER}:arrays", "--accelerator", "h100"], "give --step-time S"),
        (["files", "--max-time", "0"], "--max-time 0: must be more than 0"),
        (["files", "--repeats", "0"], "--repeats 0: must be at least 1"),
    ],
)
def test_bad_input_is_named_before_any_child(tmp_path, capsys, argv, said):
    code = main(["diagnose", *argv, "--out", str(tmp_path / "out")])
    assert code == 2
    assert said in capsys.readouterr().err


@pytest.mark.slow
def test_a_target_that_is_not_a_dataset_is_named(tmp_path, capsys):
    assert run(tmp_path, f"{USER}:a_list") == 2
    err = capsys.readouterr().err
    assert "a_list returned a builtins.list, not a tf.data.Dataset" in err


@pytest.mark.slow
def test_diagnose_names_the_stage_that_sleeps_and_sees_the_shuffle_buffer(tmp_path, capsys):
    buffer = 128
    kwargs = json.dumps({"nap_s": 0.004, "buffer": buffer, "parallel": False})
    code = run(tmp_path, f"{STAGED}:napping", "--kwargs", kwargs, "--step-time", "0.016")
    assert code == 0
    printed = capsys.readouterr().out
    assert "starves the accelerator: stage 3, map(sleepy)" in printed
    found = json.loads((tmp_path / "out" / "stages.json").read_text())
    assert [s["stage"] for s in found] == [
        "range()",
        "map(_made)",
        f"shuffle({buffer})",
        "map(sleepy)",
        "batch(16)",
        "prefetch(2)",
    ]
    assert [s["bottleneck"] for s in found] == [False, False, False, True, False, False]
    assert found[3]["elements_per_s"] < 1 / 0.004  # it sleeps 4 ms an element
    assert all(s["elements_per_s"] > 1000 for s in found[:3])
    # From the shuffle on, the buffer is held: the sleeping stage's prefix, which runs at
    # a few hundred elements a second, holds it and little more (the fast prefixes before
    # it churn 4 GB a second through the allocator, which keeps more).
    buffered = buffer * staged_pipelines.ELEMENT_BYTES
    assert found[0]["peak_pss_bytes"] < 20e6
    assert 0.8 * buffered < found[3]["peak_pss_bytes"] < buffered + 30e6
    records = jsonl.read(tmp_path / "out" / "results.jsonl")
    assert sorted(r.options.get("stage", -1) for r in records) == [-1, 0, 1, 2, 3, 4, 5]
    assert all(r.memory.settled for r in records if "stage" in r.options)
