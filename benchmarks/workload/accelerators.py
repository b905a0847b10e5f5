"""Which accelerator a training run stands for, and how long its step takes.

A training run either runs the real step (``cpu``, or ``gpu`` where TensorFlow sees one)
or emulates an accelerator: the step's compute becomes a wait of the accelerator's step
time, as DLIO and MLPerf Storage do, so that a machine without the accelerator can say
whether its pipeline would keep one busy. Step times come from accelerator profiles: the
built-in table (``accelerators.json``, derived figures: each says how), or a file that
``loadbench calibrate`` wrote on the real device (measured figures). No TensorFlow here:
the command line checks a choice before any child starts.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from loadbench.loaders.errors import OptionsError
from loadbench.loaders.files import atomic_write

PROFILE_KIND = "loadbench-accelerator"
TABLE_KIND = "loadbench-accelerators"
PROFILE_SCHEMA = 1
TABLE = Path(__file__).with_name("accelerators.json")
SOURCES = ("measured", "derived")
# The real step on this machine's device: never emulated, never a silent fallback.
REAL = ("cpu", "gpu")
# What a CPU-only machine's training runs stand for unless told: the H100, the GPU most
# of today's training runs on and the newer of the two MLPerf Storage emulates; a
# pipeline that keeps one busy keeps the older ones (a100, t4) busy too.
DEFAULT_EMULATED = "h100"
GIVEN = "step-time"  # the name of a run whose step time was given in seconds


class AcceleratorError(OptionsError):
    """An accelerator name, step time or profile file loadbench cannot use."""


@dataclass(frozen=True)
class StepPoint:
    """One timed (or derived) step: seconds per batch of ``batch_size`` at ``image_size``."""

    image_size: tuple[int, int]
    batch_size: int
    step_s: float


@dataclass(frozen=True, kw_only=True)
class Profile:
    """An accelerator's step times for FC-Siam-diff at one model width.

    source: "measured" (``loadbench calibrate`` on the device) or "derived" (``how`` says
        from what). scales_with_pixels: a step time may be scaled to another image size
        by its pixel count (derived FLOP counts are; a measured step is only what it was).
    """

    name: str
    device: str
    source: str
    how: str
    width: int
    steps: tuple[StepPoint, ...]
    scales_with_pixels: bool = False
    path: str | None = None  # the file it was read from; None for the built-in table
    extra: dict[str, Any] = field(default_factory=dict)  # tf_version, measured_at, ...

    def step_s(self, image_size: tuple[int, int], batch_size: int) -> tuple[float, str]:
        """Seconds per batch at ``image_size`` and ``batch_size``, and how it was found:
        a point at that batch size; a line (fixed cost + cost per sample) through two or
        more batch sizes; or one batch size scaled by the sample count."""
        points = self._points_at(image_size)
        exact = [p for p in points if p.batch_size == batch_size]
        if exact:
            return exact[0].step_s, f"{self.source} at batch {batch_size}"
        sizes = sorted({p.batch_size for p in points})
        if len(sizes) >= 2:
            fixed, per_sample = _line(points)
            seconds = max(fixed + per_sample * batch_size, per_sample * batch_size)
            listed = ", ".join(map(str, sizes))
            return seconds, f"{self.source} at batches {listed}, fitted to batch {batch_size}"
        point = points[0]
        how = f"{self.source} at batch {point.batch_size}, scaled to {batch_size} samples"
        return point.step_s * batch_size / point.batch_size, how

    def _points_at(self, image_size: tuple[int, int]) -> list[StepPoint]:
        size = (int(image_size[0]), int(image_size[1]))
        points = [p for p in self.steps if p.image_size == size]
        if points:
            return points
        if self.scales_with_pixels and self.steps:
            base = self.steps[0].image_size
            ratio = (size[0] * size[1]) / (base[0] * base[1])
            return [
                StepPoint(size, p.batch_size, p.step_s * ratio)
                for p in self.steps
                if p.image_size == base
            ]
        known = ", ".join(sorted({_size_text(p.image_size) for p in self.steps})) or "none"
        raise AcceleratorError(
            f"accelerator profile {self.path or self.name!r} has no step time at "
            f"{_size_text(size)} (it has: {known}); run `loadbench calibrate --size "
            f"{size[1]}` on that device, or measure at a size it has"
        )


def _size_text(size: tuple[int, int]) -> str:
    return f"{size[1]}x{size[0]}"


def _line(points: list[StepPoint]) -> tuple[float, float]:
    """Least-squares fixed cost and cost per sample through (batch size, step time)."""
    slope, fixed = np.polyfit([p.batch_size for p in points], [p.step_s for p in points], 1)
    return float(fixed), float(slope)


@dataclass(frozen=True, kw_only=True)
class Resolved:
    """What a training run ran as: the real step on ``device``, or an emulated step of
    ``step_s`` seconds per batch."""

    name: str
    source: str  # "real", "measured", "derived" or "given"
    step_s: float | None = None  # None: the real step
    how: str = ""
    device: str | None = None  # the accelerator's own name, e.g. "NVIDIA H100 SXM5"
    width: int | None = None  # the model width the emulated step times

    @property
    def emulated(self) -> bool:
        return self.step_s is not None


@dataclass(frozen=True, kw_only=True)
class Choice:
    """What ``--accelerator`` and ``--step-time`` asked for; checked when made."""

    name: str | None = None  # None: the real GPU step where there is one, else the default
    profile: Profile | None = None
    step_time_s: float | None = None

    @property
    def asked(self) -> str | None:
        """The run's identity: the name asked for, None when left to the machine."""
        if self.step_time_s is not None:
            return GIVEN
        return self.profile.name if self.profile is not None else self.name

    def check(self, image_size: tuple[int, int], batch_size: int) -> None:
        """Fail now, before any run, where the profile cannot time this run."""
        if self.profile is not None:
            self.profile.step_s(image_size, batch_size)

    def on(self, gpu: bool) -> str:
        """The name a run resolves to on a machine that has (``gpu``) or lacks a GPU;
        ``gpu`` asked for without one fails: never a silent run on the CPU."""
        name = self.name if self.name is not None else ("gpu" if gpu else DEFAULT_EMULATED)
        if name == "gpu" and not gpu:
            raise AcceleratorError(
                "--accelerator gpu: TensorFlow sees no GPU on this machine; emulate one "
                f"(--accelerator {DEFAULT_EMULATED}, or a profile file) or run the real CPU "
                "step (--accelerator cpu)"
            )
        return name

    def resolve(self, image_size: tuple[int, int], batch_size: int, gpu: bool) -> Resolved:
        """What the run does on a machine that has (``gpu``) or lacks a GPU."""
        if self.step_time_s is not None:
            how = f"given: {self.step_time_s:g} s per batch"
            return Resolved(name=GIVEN, source="given", step_s=self.step_time_s, how=how)
        name = self.on(gpu)
        if name in REAL:
            return Resolved(name=name, source="real", how=f"the real step on the {name}")
        profile = self.profile or builtin()[name]
        seconds, how = profile.step_s(image_size, batch_size)
        return Resolved(
            name=profile.name,
            source=profile.source,
            step_s=seconds,
            how=how,
            device=profile.device,
            width=profile.width,
        )


def choose(accelerator: str | None, step_time_s: float | None = None) -> Choice:
    """The choice ``--accelerator NAME|FILE`` and ``--step-time SECONDS`` make."""
    if step_time_s is not None:
        if accelerator is not None:
            raise AcceleratorError("give --accelerator or --step-time, not both")
        if not step_time_s > 0:
            raise AcceleratorError(
                f"--step-time {step_time_s:g}: must be > 0 seconds per batch, e.g. 0.05"
            )
        return Choice(step_time_s=step_time_s)
    if accelerator is None or accelerator in REAL:
        return Choice(name=accelerator)
    table = builtin()
    if accelerator in table:
        return Choice(name=accelerator, profile=table[accelerator])
    path = Path(accelerator)
    if path.suffix == ".json" or path.exists():
        return Choice(name=accelerator, profile=load_profile(path))
    known = ", ".join([*REAL, *table])
    raise AcceleratorError(
        f"--accelerator {accelerator!r}: not a known accelerator ({known}) nor a profile "
        "file; `loadbench calibrate --out FILE` writes one"
    )


def builtin() -> dict[str, Profile]:
    """The built-in table, by name (read once a process)."""
    return dict(_table())


@functools.cache
def _table() -> dict[str, Profile]:
    data = json.loads(TABLE.read_text(encoding="utf-8"))
    return {item["name"]: _profile(item, str(TABLE)) for item in data["accelerators"]}


def load_profile(path: Path | str) -> Profile:
    """An accelerator profile that ``loadbench calibrate`` wrote (or one written by hand)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AcceleratorError(
            f"accelerator profile {str(path)!r}: no such file; `loadbench calibrate --out "
            f"{path}` writes one"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AcceleratorError(
            f"accelerator profile {str(path)!r} does not parse ({exc}); write it again with "
            "`loadbench calibrate --out FILE`"
        ) from None
    if not isinstance(data, dict) or data.get("kind") != PROFILE_KIND:
        raise AcceleratorError(
            f"accelerator profile {str(path)!r}: not a loadbench accelerator profile (no "
            f'"kind": "{PROFILE_KIND}"); write one with `loadbench calibrate --out FILE`'
        )
    if data.get("schema") != PROFILE_SCHEMA:
        raise AcceleratorError(
            f"accelerator profile {str(path)!r}: schema {data.get('schema')!r}, this "
            f"loadbench reads schema {PROFILE_SCHEMA}; calibrate again"
        )
    return _profile(data, str(path))


def _profile(data: dict[str, Any], where: str) -> Profile:
    try:
        steps = tuple(
            StepPoint(
                image_size=(int(s["image_size"][0]), int(s["image_size"][1])),
                batch_size=int(s["batch_size"]),
                step_s=float(s["step_s"]),
            )
            for s in data["steps"]
        )
        profile = Profile(
            name=str(data["name"]),
            device=str(data.get("device", data["name"])),
            source=str(data["source"]),
            how=str(data.get("how", "")),
            width=int(data["width"]),
            steps=steps,
            scales_with_pixels=bool(data.get("scales_with_pixels", False)),
            path=where,
            extra=dict(data.get("extra", {})),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise AcceleratorError(
            f"accelerator profile {where!r}: missing or bad field ({type(exc).__name__}: "
            f"{exc}); it needs name, source, width and steps of image_size, batch_size, "
            "step_s"
        ) from None
    bad = [p for p in steps if p.batch_size < 1 or not p.step_s > 0]
    if profile.source not in SOURCES or not steps or bad:
        raise AcceleratorError(
            f"accelerator profile {where!r}: source must be one of {', '.join(SOURCES)} and "
            "every step a batch size >= 1 with a step time > 0"
        )
    return profile


def to_json(profile: Profile) -> dict[str, Any]:
    """A profile as ``load_profile`` reads it."""
    data = asdict(profile)
    data.pop("path")
    data["steps"] = [asdict(step) for step in profile.steps]
    return {"kind": PROFILE_KIND, "schema": PROFILE_SCHEMA, **data}


def write(profile: Profile, path: Path | str) -> None:
    """Write ``profile`` whole or not at all."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(to_json(profile), indent=2) + "\n")
