"""``loadbench profile``: a user's own pipeline and model, each run in its own child with
the probes a strategy gets; bad input ends its own run with an error naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
import user_pipelines

from loadbench.cli import main
from loadbench.harness.commands import pipelines
from loadbench.harness.commands.profile import ProfileSpec, measure_profile
from loadbench.harness.parent.runner import run_isolated
from loadbench.loaders.errors import OptionsError, PipelineError
from loadbench.reports import jsonl

HERE = Path(__file__).parent
MODULE = str(HERE / "user_pipelines.py")


def target(name: str) -> str:
    return f"{MODULE}:{name}"


@pytest.mark.parametrize("bad", ["nocolon", ":f", "m:", "m:not-a-name"])
def test_a_target_not_of_the_form_module_function_is_refused_naming_it(bad):
    with pytest.raises(PipelineError, match="expected MODULE:FUNCTION"):
        ProfileSpec(target=bad)


def test_a_model_and_an_emulated_step_are_not_asked_for_together():
    from loadbench.workload.accelerators import Choice

    with pytest.raises(OptionsError, match="give one"):
        ProfileSpec(target="m:f", model="m:g", accelerator=Choice(step_time_s=0.1))


def test_unbatched_elements_are_told_from_batches():
    import tensorflow as tf

    assert pipelines.unbatched_because(user_pipelines.samples().element_spec)
    assert pipelines.unbatched_because(user_pipelines.arrays().element_spec) is None
    ragged = tf.data.Dataset.range(4).map(lambda i: (tf.zeros((3, 2)), tf.zeros((5,))))
    assert "first dimensions differ (3, 5)" in pipelines.unbatched_because(ragged.element_spec)


def test_a_batch_counts_its_samples_along_the_first_tensor_whatever_its_structure():
    import tensorflow as tf

    element = {"image": tf.zeros((7, 2, 2)), "label": tf.zeros((7,))}
    assert pipelines.as_arguments(element) == ((element,), 7)
    assert pipelines.as_arguments(tf.constant(3.0))[1] == 1


def profile(tmp_path, *names: str, extra: tuple[str, ...] = ()) -> tuple[int, dict]:
    out = tmp_path / "out"
    argv = ["profile", *map(target, names), "--repeats", "1", "--steps", "3", "--warmup", "1"]
    code = main([*argv, "--min-time", "0", "--out", str(out), "--no-report", *extra])
    return code, {r.strategy.rsplit(":", 1)[1]: r for r in jsonl.read(out / "results.jsonl")}


@pytest.mark.slow
def test_each_bad_function_ends_its_own_run_with_an_error_naming_it(tmp_path):
    code, records = profile(
        tmp_path, "raises", "a_list", "samples", "missing", "NOT_A_FUNCTION", "pairs_as_dict"
    )
    assert code == 0  # the runs ran; some failed
    why = {name: r.error for name, r in records.items() if r.status == "error"}
    assert "raises raised ValueError: the bucket is empty" in why["raises"]
    assert "returned a builtins.list, not a tf.data.Dataset" in why["a_list"]
    assert "look like single samples" in why["samples"] and "--batch N" in why["samples"]
    assert "has no 'missing' (its callables: " in why["missing"]
    assert "'NOT_A_FUNCTION' is a int, not a function" in why["NOT_A_FUNCTION"]
    good = records["pairs_as_dict"]
    assert good.status == "ok" and good.throughput.steps == 3
    assert good.throughput.batch_bytes == 20 * (128 * 128 * 4 + 4)  # image and label of 20 samples
    assert (
        "'image': TensorSpec(shape=(None, 128, 128, 4), dtype=tf.uint8"
        in good.pipeline.element_spec
    )
    assert good.dataset["pipeline"] == target("pairs_as_dict")


@pytest.mark.slow
def test_a_missing_module_is_named_and_a_py_dataset_is_profiled_with_memray(tmp_path):
    out = tmp_path / "out"
    argv = ["profile", "no_such_module:f", target("py_dataset"), "--repeats", "1", "--memray"]
    assert main([*argv, "--steps", "3", "--min-time", "0", "--out", str(out), "--no-report"]) == 0
    missing, made = jsonl.read(out / "results.jsonl")
    assert missing.status == "error" and "no_such_module: no module of that name" in missing.error
    assert made.status == "ok" and made.throughput.samples_per_s > 0
    assert made.throughput.batch_bytes == 5 * (128 * 128 * 4 + 4)
    assert made.memory.memray_peak_bytes > 0 and Path(made.memray_flamegraph).is_file()


@pytest.mark.slow
def test_the_users_model_trains_on_each_batch_and_a_shape_it_cannot_take_is_named(tmp_path):
    code, records = profile(
        tmp_path, "arrays", "wrong_shape", extra=("--model", target("model"), "--no-fed-search")
    )
    assert code == 0
    trained, wrong = records["arrays"], records["wrong_shape"]
    assert trained.status == "ok" and trained.mode == "train", trained.error
    assert trained.training.accelerator == "cpu" and trained.training.accelerator_source == "real"
    assert trained.training.compute_s > 0 and 0 < trained.training.accelerator_busy_share <= 1
    assert trained.options["model"] == target("model")
    assert wrong.status == "error" and f"{target('model')} cannot train on" in wrong.error
    _, records = profile(tmp_path / "again", "arrays", extra=("--model", target("uncompiled")))
    assert "the model is not compiled" in records["arrays"].error


@pytest.mark.slow
def test_a_cached_pipeline_peaks_above_the_uncached_by_about_its_data(tmp_path):
    peaks = {}
    for cache in (False, True):
        spec = ProfileSpec(
            target=target("arrays"), kwargs={"cache": cache}, steps=40, warmup_steps=1
        )  # 41 batches of 20: past the 600 samples' first pass, the cache is whole
        outcome = run_isolated(spec, timeout_s=180, work=measure_profile)
        assert outcome.status == "ok", outcome.error
        peaks[cache] = outcome.result.measurement.memory.peak_pss_bytes
    grown = peaks[True] - peaks[False]
    assert 0.8 * user_pipelines.DATA_BYTES < grown < 1.4 * user_pipelines.DATA_BYTES, peaks


@pytest.mark.slow
def test_a_script_without_a_main_guard_profiles_once(tmp_path):
    """A user's script calling loadbench.profile at its top level (no ``if __name__ ==
    "__main__"``): the child does not import the script again, so it runs once."""
    import subprocess
    import sys

    script = tmp_path / "measure.py"
    script.write_text(
        "import loadbench\n"
        "print('script ran', flush=True)\n"
        f"record = loadbench.profile({target('arrays')!r}, steps=3, warmup=1)\n"
        "print(record.status, record.throughput.steps)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["script ran", "ok 3"]


def test_a_named_target_is_recorded_under_its_name():
    from loadbench.harness.commands.profile import ProfileConfig, named, profile_jobs

    assert named("arrays=examples/arrays.py:cached") == ("arrays", "examples/arrays.py:cached")
    assert named("pkg.mod:make") == (None, "pkg.mod:make")
    config = ProfileConfig(targets=("arrays=m:cached", "m:plain"), repeats=1, out=Path("o"))
    first, second = profile_jobs(config)
    assert first.spec.strategy == "arrays" and first.spec.target == "m:cached"
    assert second.spec.strategy == "m:plain"
    with pytest.raises(OptionsError, match="given twice"):
        ProfileConfig(targets=("a=m:f", "a=m:g"), out=Path("o"))


@pytest.mark.slow
def test_the_service_tells_a_distributable_pipeline_from_one_that_runs_python(tmp_path):
    code, records = profile(tmp_path, "arrays", "py_dataset", extra=("--service", "1"))
    assert code == 0
    assert records["arrays"].status == "ok", records["arrays"].error
    assert records["arrays"].options["service"] == "1"
    python = records["py_dataset"]  # its batches come from Python, in this process only
    assert python.status == "error" and "Could not find callback" in python.error
