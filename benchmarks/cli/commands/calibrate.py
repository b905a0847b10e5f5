"""``loadbench calibrate``: time the real training step on this machine's device and
write an accelerator profile that ``--accelerator FILE`` reads on any other machine."""

from __future__ import annotations

import argparse
from pathlib import Path

from loadbench.cli import common
from loadbench.harness.commands.calibrate import CalibrateSpec, calibrate
from loadbench.harness.parent.plan import DEFAULT_SIZE
from loadbench.harness.parent.runner import run_isolated
from loadbench.loaders.errors import LoadbenchError
from loadbench.workload import accelerators

HELP = "time the real training step here and write an accelerator profile (JSON)"


PROFILE_FILE = "accelerator.json"


class CalibrationFailed(LoadbenchError):
    """The timing child did not finish; nothing was written."""

    exit_code = 1


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--image-sizes",
        default=str(DEFAULT_SIZE),
        metavar="SIDES",
        help=f"image sides, comma-separated (default {DEFAULT_SIZE})",
    )
    parser.add_argument(
        "--batch-sizes", default="8,32", help="batch sizes, comma-separated (default 8,32)"
    )
    parser.add_argument("--width", type=int, help="model width (default: 16 on a GPU, 4 on a CPU)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per point")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--device", choices=("cpu", "gpu"), help="default: the GPU if any")
    parser.add_argument("--name", help="the profile's name in records (default calibrated-DEVICE)")
    common.add_out(parser, f"the profile, {PROFILE_FILE}, and its log")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds for the child")


def run(args: argparse.Namespace) -> int:
    spec = CalibrateSpec(
        sizes=_integers(args.image_sizes, "--image-sizes"),
        batch_sizes=_integers(args.batch_sizes, "--batch-sizes"),
        width=args.width,
        steps=args.steps,
        warmup=args.warmup,
        on=args.device,
        name=args.name,
        log_path=str(Path(args.out) / "accelerator.log"),
    )
    outcome = run_isolated(spec, args.timeout, work=calibrate)
    profile = outcome.result
    if not isinstance(profile, accelerators.Profile):
        why = outcome.error or "no profile came back"
        raise CalibrationFailed(
            f"calibration {outcome.status}: {why}; its log: {spec.log_path}; nothing written"
        )
    written = Path(args.out) / PROFILE_FILE
    accelerators.write(profile, written)
    for point in profile.steps:
        height, width = point.image_size
        print(
            f"{width}x{height} batch {point.batch_size:>4}: {point.step_s * 1e3:9.2f} ms a step, "
            f"{point.batch_size / point.step_s:9.1f} samples/s"
        )
    print(f"profile {profile.name!r} ({profile.device}, width {profile.width}): {written}")
    print(f"use it with: loadbench run --accelerator {written}")
    return 0


def _integers(text: str, flag: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise accelerators.AcceleratorError(
            f"{flag} {text!r}: whole numbers, comma-separated, e.g. 8,32"
        ) from None
