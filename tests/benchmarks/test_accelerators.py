"""The accelerator table, profile files, and what a run resolves its step to."""

from __future__ import annotations

import json

import pytest

from loadbench.workload import accelerators
from loadbench.workload.accelerators import (
    AcceleratorError,
    Choice,
    Profile,
    StepPoint,
    choose,
    load_profile,
)

PAIR_FLOPS = 25_632_254_519  # the table's count: FC-Siam-diff's training step, 256x256


def test_every_table_entry_is_derived_and_says_how():
    table = accelerators.builtin()
    assert accelerators.DEFAULT_EMULATED in table
    peaks = {"h100": 67e12, "a100": 19.5e12, "t4": 8.1e12}
    for name, profile in table.items():
        assert profile.source == "derived" and "FLOP" in profile.how and profile.width == 16
        per_pair, _ = profile.step_s((256, 256), 1)
        # the figure is what its "how" says: the FLOP count over 25% of the published peak
        assert per_pair == pytest.approx(PAIR_FLOPS / (peaks[name] * 0.25), rel=1e-4)
        assert f"{peaks[name] / 1e12:g} TFLOP/s" in profile.how


def test_derived_steps_scale_with_samples_and_pixels():
    h100 = accelerators.builtin()["h100"]
    one, _ = h100.step_s((256, 256), 1)
    thirty_two, how = h100.step_s((256, 256), 32)
    assert thirty_two == pytest.approx(32 * one) and "scaled to 32 samples" in how
    assert h100.step_s((128, 128), 32)[0] == pytest.approx(thirty_two / 4)


def measured(steps, **kwargs) -> Profile:
    return Profile(
        name="mine",
        device="a GPU",
        source="measured",
        how="by hand",
        width=16,
        steps=tuple(StepPoint((64, 64), batch, seconds) for batch, seconds in steps),
        **kwargs,
    )


def test_a_measured_profile_fits_a_line_through_its_batch_sizes():
    profile = measured([(8, 0.010), (32, 0.028)])  # 4 ms fixed + 0.75 ms a sample
    assert profile.step_s((64, 64), 8) == (0.010, "measured at batch 8")
    seconds, how = profile.step_s((64, 64), 16)
    assert seconds == pytest.approx(0.016) and "fitted" in how


def test_a_measured_profile_without_the_runs_image_size_is_refused():
    with pytest.raises(AcceleratorError, match=r"no step time at 128x128 \(it has: 64x64\)"):
        measured([(8, 0.01)]).step_s((128, 128), 8)


def test_a_calibrated_profile_round_trips(tmp_path):
    profile = measured([(8, 0.010), (32, 0.028)], extra={"tf_version": "2.21.0"})
    path = tmp_path / "gpu.json"
    accelerators.write(profile, path)
    back = load_profile(path)
    assert back == Profile(**{**profile.__dict__, "path": str(path)})
    choice = choose(str(path))
    assert choice.asked == "mine"
    ran = choice.resolve((64, 64), 32, gpu=False)
    assert ran.emulated and ran.step_s == 0.028 and ran.source == "measured"


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{", "does not parse"),
        ('{"kind": "something-else"}', "not a loadbench accelerator profile"),
        ('{"kind": "loadbench-accelerator", "schema": 9}', "schema 9"),
        ('{"kind": "loadbench-accelerator", "schema": 1, "name": "x"}', "missing or bad field"),
        (
            '{"kind": "loadbench-accelerator", "schema": 1, "name": "x", "source": "measured",'
            ' "width": 16, "steps": [{"image_size": [8, 8], "batch_size": 1, "step_s": 0}]}',
            "step time > 0",
        ),
    ],
)
def test_a_bad_profile_file_is_named_with_what_to_do(tmp_path, content, match):
    path = tmp_path / "profile.json"
    path.write_text(content)
    with pytest.raises(AcceleratorError, match=match) as caught:
        choose(str(path))
    assert str(path) in str(caught.value) and caught.value.exit_code == 2


def test_an_unknown_accelerator_lists_the_known_ones():
    with pytest.raises(AcceleratorError, match=r"'v100'.*\(cpu, gpu, h100, a100, t4\)"):
        choose("v100")
    with pytest.raises(AcceleratorError, match="no such file"):
        choose("missing-profile.json")


@pytest.mark.parametrize("seconds", [0.0, -1.0])
def test_a_step_time_must_be_positive(seconds):
    with pytest.raises(AcceleratorError, match=r"--step-time .*must be > 0"):
        choose(None, seconds)


def test_the_default_is_the_real_gpu_step_or_the_emulated_default():
    default = Choice()
    assert default.asked is None  # the run's identity: left to the machine
    assert default.resolve((256, 256), 8, gpu=True).source == "real"
    emulated = default.resolve((256, 256), 8, gpu=False)
    assert emulated.name == accelerators.DEFAULT_EMULATED and emulated.emulated


def test_the_gpu_step_never_falls_back_to_the_cpu():
    with pytest.raises(AcceleratorError, match="sees no GPU"):
        choose("gpu").resolve((256, 256), 8, gpu=False)
    assert choose("cpu").resolve((256, 256), 8, gpu=True).name == "cpu"


def test_the_table_file_is_json_a_user_can_copy():
    data = json.loads(accelerators.TABLE.read_text())
    assert data["kind"] == accelerators.TABLE_KIND and "Derived, not measured" in data["note"]


@pytest.mark.slow
def test_calibrate_times_the_real_step_and_its_profile_is_read_back(tmp_path, capsys):
    from loadbench.cli import main

    folder = tmp_path / "calibrated"
    argv = ["calibrate", "--image-sizes", "32", "--batch-sizes", "2,4", "--width", "2"]
    assert main([*argv, "--steps", "2", "--warmup", "1", "--out", str(folder)]) == 0
    out = folder / "accelerator.json"
    assert f"use it with: loadbench run --accelerator {out}" in capsys.readouterr().out
    assert (folder / "accelerator.log").is_file()
    profile = load_profile(out)
    assert profile.source == "measured" and profile.width == 2
    assert [(p.image_size, p.batch_size) for p in profile.steps] == [((32, 32), 2), ((32, 32), 4)]
    assert all(p.step_s > 0 for p in profile.steps)
    assert profile.extra["tf_version"].startswith("2.")
    ran = choose(str(out)).resolve((32, 32), 4, gpu=False)
    assert ran.emulated and ran.step_s == profile.steps[1].step_s and ran.source == "measured"
    with pytest.raises(AcceleratorError, match="no step time at 64x64"):
        choose(str(out)).check((64, 64), 4)


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--accelerator", "v100"], "not a known accelerator (cpu, gpu, h100, a100, t4)"),
        (["--step-time", "0"], "--step-time 0: must be > 0"),
        (["--accelerator", "h100", "--step-time", "0.1"], "not both"),
        (["--accelerator", "BAD"], "does not parse"),
        (["--accelerator", "SMALL"], "no step time at 32x32 (it has: 64x64)"),
    ],
)
def test_bad_accelerator_input_exits_2_before_any_run(tiny_root, tmp_path, capsys, flags, words):
    from loadbench.cli import main

    (tmp_path / "bad.json").write_text("{")
    accelerators.write(measured([(8, 0.01)]), tmp_path / "small.json")
    flags = [
        {"BAD": str(tmp_path / "bad.json"), "SMALL": str(tmp_path / "small.json")}.get(f, f)
        for f in flags
    ]
    out = tmp_path / "out"
    argv = ["run", "--data", str(tiny_root), "--mode", "train", "--out", str(out), *flags]
    assert main(argv) == 2
    assert words in capsys.readouterr().err
    assert not (out / "results.jsonl").exists()  # nothing ran
