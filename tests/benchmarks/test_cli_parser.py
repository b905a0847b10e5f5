"""The command line's parser: usage errors that name the flag and what it takes, the
flag meant for an unknown one, the --fast and --rigorous tiers, and help that fits a
screen. In-process, through ``main(argv)``; no run starts."""

from __future__ import annotations

import pytest

from loadbench.cli import build_parser, main
from loadbench.cli.tiers import (
    ceilings_of,
    least_repeats_of,
    max_time_of,
    min_time_of,
    repeats_of,
)
from loadbench.harness.parent.plan import DEFAULT_MAX_TIME, DEFAULT_REPEATS
from loadbench.harness.parent.presets import TIERS


@pytest.fixture(autouse=True)
def no_fork_server(monkeypatch):
    """``main(["run", ...])`` starts its fork server before parsing unless the start
    method is spawn: these tests end at the parser, so none is started."""
    monkeypatch.setenv("LOADBENCH_START_METHOD", "spawn")


def refused(argv: list[str], capsys) -> str:
    """What the parser says on stderr when it refuses ``argv`` (exit status 2)."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    return capsys.readouterr().err


def test_a_word_for_a_whole_number_names_the_flag_what_it_takes_and_an_example(capsys):
    err = refused(["run", "--repeats", "x"], capsys)
    assert err.splitlines()[-1] == (
        "loadbench run: error: --repeats takes a whole number, not 'x': for example --repeats 3"
    )


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["run", "-r", "two"], "--repeats takes a whole number, not 'two': for example -"),
        (["run", "--timeout", "soon"], "--timeout takes a number, not 'soon': for example "),
        (["data", "synth", "-j", "all"], "--jobs takes a whole number, not 'all'"),
    ],
)
def test_the_long_flag_is_named_whichever_form_was_given(argv, said, capsys):
    assert said in refused(argv, capsys)


@pytest.mark.parametrize(
    ("argv", "meant", "command"),
    [
        (["run", "--loader", "memmap"], "--loaders", "loadbench run"),
        (["report", "r.jsonl", "--baselin", "old.jsonl"], "--baseline", "loadbench report"),
        (["data", "check", "data", "--job", "2"], "--jobs", "loadbench data check"),
    ],
)
def test_an_unknown_flag_suggests_the_subcommands_flag_meant(argv, meant, command, capsys):
    err = refused(argv, capsys)
    last = err.splitlines()[-1]
    assert last.startswith(f"{command}: error: unrecognized arguments: {argv[-2]} {argv[-1]}")
    assert f"did you mean {meant}" in last
    assert last.endswith(f"({command} --help lists the flags)")


def test_a_prefix_of_a_flag_is_not_taken_for_it(capsys):
    assert "did you mean --rigorous" in refused(["run", "--rig"], capsys)


def parsed(*argv: str):
    return build_parser().parse_args(["run", *argv])


FAST, RIGOROUS = TIERS["fast"], TIERS["rigorous"]


@pytest.mark.parametrize(
    ("argv", "repeats", "min_time_s", "ceilings"),
    [
        ((), DEFAULT_REPEATS, None, True),
        (("--fast",), FAST.repeats, FAST.min_time_s, FAST.ceilings),
        (("--rigorous",), RIGOROUS.repeats, RIGOROUS.min_time_s, True),
        # A flag given beside a tier wins over it.
        (("--fast", "--repeats", "4"), 4, FAST.min_time_s, FAST.ceilings),
        (("--fast", "--ceilings"), FAST.repeats, FAST.min_time_s, True),
        (("--rigorous", "--min-time", "1", "-r", "2"), 2, 1.0, True),
        (("--rigorous", "--no-ceilings"), RIGOROUS.repeats, RIGOROUS.min_time_s, False),
    ],
)
def test_tiers_set_repeats_run_time_and_ceilings_unless_a_flag_says(
    argv, repeats, min_time_s, ceilings
):
    args = parsed(*argv)
    assert (repeats_of(args), min_time_of(args), ceilings_of(args)) == (
        repeats,
        min_time_s,
        ceilings,
    )


@pytest.mark.parametrize(
    ("argv", "max_time_s", "least"),
    [
        ((), DEFAULT_MAX_TIME, 2),  # settled; the third repeat where the first two disagree
        (("--fast",), None, None),  # a first look: the ramp, one repeat
        (("--rigorous",), RIGOROUS.max_time_s, None),  # every repeat runs
        (("-r", "3"), DEFAULT_MAX_TIME, None),  # repeats asked for all run
        (("--max-time", "5"), 5.0, 2),
        (("--fast", "--max-time", "5"), 5.0, None),
        (("--min-time", "45"), 45.0, 2),  # a floor past the cap raises the cap
    ],
)
def test_the_default_run_settles_and_takes_a_third_repeat_only_where_asked(argv, max_time_s, least):
    args = parsed(*argv)
    assert (max_time_of(args), least_repeats_of(args)) == (max_time_s, least)


def test_rigorous_holds_a_peak_longer_before_calling_it_settled(tiny_spec, tmp_path):
    from loadbench.cli.common import run_config
    from loadbench.harness.child.settle import WINDOW_S
    from loadbench.harness.parent.plan import DatasetChoice, plan

    chosen = [DatasetChoice(split=tiny_spec, synthetic=True)]
    for argv, window in (((), WINDOW_S), (("--rigorous",), RIGOROUS.settle_window_s)):
        args = parsed(*argv, "-l", "generator", "-m", "iterate", "--no-ceilings")
        [job, *_] = plan(run_config(args, chosen))
        assert job.spec.settling.window_s == window
    assert RIGOROUS.settle_window_s > WINDOW_S


def test_fast_is_a_first_look_and_rigorous_takes_more_than_the_default():
    assert FAST.repeats < DEFAULT_REPEATS < RIGOROUS.repeats
    assert FAST.min_time_s < RIGOROUS.min_time_s and not FAST.ceilings


def test_fast_and_rigorous_are_not_both_taken(capsys):
    assert "not allowed with argument --fast" in refused(["run", "--fast", "--rigorous"], capsys)


COMMANDS = [
    ["run"],
    ["profile"],
    ["sweep"],
    ["prove-limit"],
    ["calibrate"],
    ["report"],
    ["compare"],
    ["list"],
    ["data", "synth"],
    ["data", "check"],
]
HELP_LINES = 60  # a screen


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_each_commands_help_fits_a_screen(command, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "120")
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: loadbench {' '.join(command)} ")
    lines = out.splitlines()
    assert max(map(len, lines)) <= 120
    assert len(lines) <= HELP_LINES, f"loadbench {' '.join(command)} --help: {len(lines)} lines"
