"""``loadbench tune``: the space as given on the command line, the trials' specs, what
comes back (the recommendation file round-trips, the warnings), and a whole search on a
pipeline of known cost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadbench.cli import main
from loadbench.harness.child import stages
from loadbench.harness.commands import search, tune_output
from loadbench.harness.commands import tune as tuning
from loadbench.harness.commands.profile import ProfileSpec
from loadbench.harness.commands.tune_checks import warnings_for
from loadbench.loaders.errors import OptionsError
from loadbench.reports import jsonl
from loadbench.reports.records import Record
from loadbench.workload.accelerators import Choice

HERE = Path(__file__).parent
STAGED = str(HERE / "staged_pipelines.py")
MB = 1_000_000


def test_the_space_parses_counts_autotune_bools_sizes_and_words():
    found = tuning.parse_space(
        ["prefetch=0,2,autotune", "cache=none,memory", "prefetch=1,2"], builtin=True
    )
    assert [(s.name, s.values) for s in found] == [
        ("prefetch", [1, 2]),
        ("cache", ["none", "memory"]),
    ]
    user = tuning.parse_space(
        ["size=64,128", "mode=fast,slow", "deterministic=true,false", "autotune_ram_budget=1GB"],
        builtin=False,
    )
    assert [(s.kind, s.values) for s in user] == [
        ("kwarg", [64, 128]),
        ("kwarg", ["fast", "slow"]),
        ("option", [True, False]),
        ("option", [1_000_000_000]),
    ]


@pytest.mark.parametrize(
    ("texts", "builtin", "said"),
    [
        (["prefetch"], True, "expected NAME=V1,V2"),
        (["workers=1,2"], True, "a built-in strategy's settings are prefetch"),
        (["cache=none,disk"], True, "'disk' (one of none, memory, file)"),
        (["parallelism=0,2"], True, "0 (at least 1)"),
        (["batch_size=autotune"], True, "no autotune for it"),
        (["deterministic=1"], False, "1 (true or false)"),
        (["autotune_algorithm=FASTEST"], False, "one of DEFAULT"),
    ],
)
def test_a_bad_space_is_named(texts, builtin, said):
    with pytest.raises(OptionsError, match="--space") as raised:
        tuning.parse_space(texts, builtin)
    assert said in str(raised.value)


def user_plan(space: list[str], budget: int = 300 * MB) -> tuning.Plan:
    spec = ProfileSpec(target=f"{STAGED}:napping", accelerator=Choice(step_time_s=0.016))
    settings = tuning.default_space(False, tuning.parse_space(space, builtin=False))
    return tuning.Plan(spec=spec, space=settings, budget_bytes=budget, out=Path("out"))


def test_baselines_are_as_given_everything_autotune_and_parallelism_at_the_cores(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    plan = user_plan(["parallel_naps=1,8,autotune", "cache=false,true"])
    given, autotuned, cores = (dict(point) for _, point in plan.baselines())
    assert given == {"parallel_naps": tuning.GIVEN_DEFAULT, "cache": tuning.GIVEN_DEFAULT}
    assert autotuned["parallel_naps"] == -1 and autotuned["cache"] is tuning.GIVEN_DEFAULT
    assert cores["parallel_naps"] == 2


def test_a_trial_runs_the_point_as_kwargs_and_tf_data_options_settled_within_the_budget():
    plan = user_plan(["parallel_naps=1,8", "map_parallelization=true,false"])
    point = search.point_of({"parallel_naps": 8, "map_parallelization": False}, plan.order)
    spec = plan.spec_for(point)
    assert spec.kwargs == {"parallel_naps": 8}
    assert spec.tf_options == (("map_parallelization", False),)
    assert spec.memory_budget_bytes == 300 * MB and spec.settling is not None
    assert spec.mode == "train" and not spec.fed_search


@pytest.mark.parametrize(
    ("pss", "rss", "over", "said"),
    [
        (299, 305, True, "peak RSS 305.0 MB passed the budget of 300.0 MB"),
        (301, 305, True, "peak PSS 301.0 MB passed the budget of 300.0 MB"),
        (250, 299, False, None),
    ],
)
def test_a_trial_whose_rss_passed_the_budget_is_over_it_whatever_its_pss(pss, rss, over, said):
    # The child stops a trial as its RSS passes the budget; its last PSS read can lag.
    record = Record.of_figures(
        strategy="napping",
        mode="train",
        status="ok",
        dataset={"root": "synthetic", "split": "train", "pairs": 3, "image_size": [32, 32]},
        options={"batch_size": 4},
        peak_pss_bytes=pss * MB,
        peak_rss_bytes=rss * MB,
        accelerator_busy_share=0.95,
    )
    assert tuning.run_of(record, 300 * MB).over is over
    judged = tuning.judged(record, 300 * MB)
    assert judged.status == ("over_budget" if over else "ok") and judged.error == said


def test_the_recommendation_file_round_trips(tmp_path):
    plan = user_plan(["parallel_naps=1,8", "deterministic=true,false"])
    plan = tuning.Plan(**{**plan.__dict__, "out": tmp_path})
    point = search.point_of({"parallel_naps": 8, "deterministic": False}, plan.order)
    best = search.Measured(point, [search.Run(0.95, 200 * MB), search.Run(0.97, 210 * MB)])
    given = search.Measured(plan.baselines()[0][1], [search.Run(0.3, 90 * MB)], label="as given")
    outcome = search.Outcome([given, best], [given], best, [], search.Noise(), 5)
    written = tune_output.write(plan, outcome, 1.5, [])
    found = tune_output.read(written)
    assert found["kwargs"] == {"parallel_naps": 8}
    assert found["options"] == {"deterministic": False}
    assert found["accelerator_busy_share"] == pytest.approx(0.95)  # the lower run
    assert found["accelerator_busy_share_range"] == [0.95, 0.97]
    assert found["peak_pss_bytes"] == 210 * MB and found["trials"] == 5
    assert tune_output.point_from(plan, found) == point
    lines = tune_output.apply_lines(plan, point)
    assert lines[0] == "ds = napping(parallel_naps=8)"
    assert "options.deterministic = False" in lines


def test_a_cache_after_a_random_stage_and_an_order_not_kept_are_warned_of():
    import tensorflow as tf

    ds = tf.data.Dataset.range(8).map(lambda x: x + tf.random.uniform([], 0, 2, tf.int64))
    found = stages.describe(ds.cache().batch(2))
    said = warnings_for(found, {"deterministic": False}, {})
    assert any("augmentations frozen" in s for s in said)
    assert any("another order" in s for s in said)
    assert warnings_for(stages.describe(ds.batch(2)), {}, {}) == []


def tune(tmp_path: Path, *argv: str) -> int:
    return main(["tune", *argv, "--out", str(tmp_path / "out"), "-q"])


@pytest.mark.slow
def test_a_space_name_the_function_does_not_take_is_named(tmp_path, capsys):
    code = tune(
        tmp_path,
        f"{STAGED}:napping",
        "--memory-budget",
        "1GB",
        "--step-time",
        "0.016",
        "--space",
        "naps=1,2",
    )
    assert code == 2
    assert "takes no keyword 'naps' (it takes: nap_s, buffer" in capsys.readouterr().err


@pytest.mark.slow
def test_tune_meets_the_demand_within_the_budget_refusing_a_faster_cache_past_it(tmp_path, capsys):
    # 4 ms a nap: 250 elements a second a nap; the step asks for 16 every 40 ms (400 a
    # second): 2 naps at once meet it (tf.data runs 2 at once on 2 cores, 8 asked or
    # not). A cache of every element would feed it faster still, and passes 300 MB
    # within seconds; a nap of -0.5 s raises as it runs.
    code = tune(
        tmp_path,
        f"{STAGED}:napping",
        "--memory-budget",
        "300MB",
        "--step-time",
        "0.04",
        "--kwargs",
        '{"buffer": 8}',
        "--space",
        "parallel_naps=1,8",
        "--space",
        "cache=false,true",
        "--space",
        "nap_s=0.004,-0.5",
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    found = tune_output.read(tmp_path / "out" / "recommendation.json")
    assert found["kwargs"]["parallel_naps"] in (2, 8)
    assert found["kwargs"].get("cache", False) is False  # the function's default left out
    assert found["accelerator_busy_share"] > 0.85
    assert found["peak_pss_bytes"] < 300 * MB
    records = jsonl.read(tmp_path / "out" / "results.jsonl")
    by = {json.dumps(r.options["tune"], sort_keys=True): r for r in records}
    cached = [r for k, r in by.items() if '"cache": "true"' in k]
    assert cached and all(r.status == "over_budget" for r in cached)
    failed = [r for k, r in by.items() if '"nap_s": "-0.5"' in k]
    assert failed and failed[0].status == "error"
    assert len(records) == found["trials"]
    assert "recommended: parallel_naps=" in printed
    given = [r for r in records if r.options.get("baseline", "").startswith("as given")]
    assert len(given) == 2 and given[0].training.settled_busy_share < 0.7


@pytest.mark.slow
def test_a_target_that_is_not_a_dataset_is_named_before_any_trial(tmp_path, capsys):
    user = str(HERE / "user_pipelines.py")
    code = tune(tmp_path, f"{user}:a_list", "--memory-budget", "1GB", "--step-time", "0.05")
    assert code == 2
    assert "a_list returned a builtins.list, not a tf.data.Dataset" in capsys.readouterr().err
    assert not (tmp_path / "out" / "results.jsonl").exists()


@pytest.mark.slow
def test_a_budget_below_the_pipeline_as_given_is_named_and_its_trial_kept(tmp_path, capsys):
    code = tune(
        tmp_path,
        f"{STAGED}:napping",
        "--memory-budget",
        "5MB",
        "--step-time",
        "0.04",
        "--kwargs",
        '{"buffer": 64}',
    )
    assert code == 2
    said = capsys.readouterr().err
    assert "--memory-budget 5MB: the pipeline as given passed it" in said
    records = jsonl.read(tmp_path / "out" / "results.jsonl")
    assert [r.status for r in records] == ["over_budget"]


def test_the_cores_baseline_sets_counts_not_switches(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    plan = user_plan(["parallel_naps=1,8", "map_parallelization=true,false"])
    cores = dict(plan.baselines()[2][1])
    assert cores["parallel_naps"] == 2 and cores["map_parallelization"] is tuning.GIVEN_DEFAULT


def test_the_check_reads_knobs_as_given_and_the_functions_defaults():
    from loadbench.harness.commands.tune_checks import SpaceCheck, check_space

    found = check_space(
        SpaceCheck(
            target=f"{STAGED}:napping",
            kwargs={"buffer": 8},
            settings=(("parallel_naps", (1, 2)),),
            knobs=("map_parallelization", "private_threadpool_size"),
        )
    )
    assert found.problems == []
    assert found.defaults == {"parallel_naps": 1, "map_parallelization": True}
