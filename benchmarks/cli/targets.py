"""What ``diagnose`` and ``tune`` share: a TARGET that is a built-in strategy on the
built-in dataset or a user's ``MODULE:FUNCTION`` (as ``profile`` takes it), the flags that
say how it runs, the spec that measures it, and their harness flags."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from loadbench.cli import common
from loadbench.harness.commands.pipelines import split_target
from loadbench.harness.commands.profile import ProfileSpec
from loadbench.harness.parent.plan import DEFAULT_PAIRS, DEFAULT_SIZE
from loadbench.harness.parent.runner import START_METHODS
from loadbench.harness.parent.session import RESULTS, Harness
from loadbench.harness.spec import Mode, RunSpec
from loadbench.loaders import registry
from loadbench.loaders.errors import OptionsError
from loadbench.loaders.options import PipelineOptions
from loadbench.workload import accelerators
from loadbench.workload.accelerators import Choice


def add_target(parser: argparse.ArgumentParser, group: argparse._ArgumentGroup) -> None:
    """TARGET, and how it runs: its function's keyword arguments, the accelerator, the
    batch, the built-in dataset's size and folder."""
    parser.add_argument(
        "target",
        metavar="TARGET",
        help="a built-in strategy (loadbench list) or MODULE:FUNCTION returning a "
        "tf.data.Dataset, as `loadbench profile` takes it",
    )
    group.add_argument("--kwargs", default="{}", help="FUNCTION's keyword arguments, as JSON")
    group.add_argument(
        "--accelerator",
        metavar="NAME",
        help=f"a built-in strategy's: {', '.join(accelerators.builtin())} or a profile FILE "
        f"(default: {accelerators.DEFAULT_EMULATED}, emulated)",
    )
    group.add_argument(
        "--step-time",
        type=float,
        metavar="S",
        help="the accelerator's step, S seconds a batch (what your own pipeline is held to)",
    )
    group.add_argument(
        "-b",
        "--batch-size",
        type=int,
        metavar="N",
        help="a strategy's batch (default: 32); your dataset's single samples batched by N",
    )
    group.add_argument("--size", type=int, default=DEFAULT_SIZE, help="built-in dataset's side")
    group.add_argument("--cache-dir", type=Path, metavar="DIR", help="the built-in dataset's")


def add_harness(parser: argparse.ArgumentParser, command: str, what: str, each: str) -> None:
    """Where records go and how each child is watched: ``-o`` (a folder of the command's
    own), ``--timeout``, ``--start-method``, ``-q``."""
    group = parser.add_argument_group("harness and output")
    common.add_own_out(group, command, what)
    group.add_argument("--timeout", type=float, default=600, metavar="S", help=f"seconds {each}")
    group.add_argument(
        "--start-method", choices=START_METHODS, metavar="HOW", help="forkserver or spawn"
    )
    group.add_argument("-q", "--quiet", action="store_true", help=f"no line {each}")


def harness_of(args: argparse.Namespace, out: Path) -> Harness:
    return Harness(
        results=out / RESULTS,
        timeout_s=args.timeout,
        start_method=args.start_method,
        quiet=args.quiet,
    )


def kwargs_of(args: argparse.Namespace) -> dict[str, Any]:
    """``--kwargs`` as a dict: JSON of an object, else an error naming the value."""
    try:
        found = json.loads(args.kwargs or "{}")
    except json.JSONDecodeError as exc:
        raise OptionsError(f"--kwargs {args.kwargs!r}: not JSON ({exc})") from exc
    if not isinstance(found, dict):
        raise OptionsError(f"--kwargs {args.kwargs!r}: must be a JSON object, e.g. '{{\"n\": 8}}'")
    return found


def is_users(target: str) -> bool:
    """A ``MODULE:FUNCTION`` of the user's, not a built-in strategy."""
    return ":" in target


def user_spec(args: argparse.Namespace, accelerator: Choice, **base: Any) -> ProfileSpec:
    """The spec of a user's pipeline; ``--accelerator`` refused (it times loadbench's own
    model: a user's pipeline is held to its model's ``--step-time``)."""
    split_target(args.target)
    if args.accelerator is not None:
        raise OptionsError(
            f"--accelerator {args.accelerator}: an accelerator's step is timed on loadbench's "
            "own model; for your pipeline give --step-time S, your model's step a batch"
        )
    return ProfileSpec(
        target=args.target,
        kwargs=kwargs_of(args),
        batch=args.batch_size,
        accelerator=accelerator,
        **base,
    )


def strategy_spec(
    args: argparse.Namespace, command: str, mode: Mode, options: PipelineOptions, **base: Any
) -> RunSpec:
    """The spec of a built-in strategy on the built-in dataset (made on first use)."""
    from loadbench.loaders.dataset.layout import describe
    from loadbench.loaders.dataset.synth import builtin_dataset

    if args.target in registry.CEILINGS:
        strategies = [n for n in registry.names() if n not in registry.CEILINGS]
        raise OptionsError(
            f"{args.target}: one of the machine's ceilings, not a pipeline to {command}; give a "
            f"strategy ({', '.join(strategies)})"
        )
    registry.check(args.target)
    cache_root = common.cache_root(args)
    data = describe(builtin_dataset(cache_root, DEFAULT_PAIRS, args.size), "train")
    choice = accelerators.choose(args.accelerator, args.step_time)
    choice.check(data.image_size, options.batch_size)
    return RunSpec(
        strategy=args.target,
        mode=mode,
        data_root=str(data.root),
        split=data.split,
        synthetic=True,
        options=options,
        cache_root=str(cache_root),
        described=data,
        accelerator=choice,
        **base,
    )
