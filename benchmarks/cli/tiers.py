"""How deep a run looks: ``--fast``, the default and ``--rigorous`` (``presets.TIERS``),
and the figures a flag given beside one overrides."""

from __future__ import annotations

import argparse

from loadbench.harness.parent.presets import TIERS, Tier


def add_tiers(group: argparse._ArgumentGroup) -> None:
    """``--fast`` and ``--rigorous``: how deep a run looks (``presets.TIERS``); a flag
    given beside one wins over it."""
    tiers = group.add_mutually_exclusive_group()
    fast, rigorous = TIERS["fast"], TIERS["rigorous"]
    tiers.add_argument(
        "--fast",
        dest="tier",
        action="store_const",
        const="fast",
        help=f"a first look: {fast.repeats} repeat, runs of {fast.min_time_s:g} s, no ceilings",
    )
    tiers.add_argument(
        "--rigorous",
        dest="tier",
        action="store_const",
        const="rigorous",
        help=f"{rigorous.repeats} repeats of runs of at least {rigorous.min_time_s:g} s, peaks "
        f"held {rigorous.settle_window_s:g} s",
    )


def _tier(args: argparse.Namespace) -> Tier | None:
    name = getattr(args, "tier", None)
    return TIERS[name] if name else None


def _chosen(args: argparse.Namespace) -> Tier:
    """The tier a flag asked for, else the default's."""
    return _tier(args) or TIERS["default"]


def repeats_of(args: argparse.Namespace) -> int:
    """``--repeats`` where given, else the tier's, else the command's default."""
    if args.repeats is not None:
        return int(args.repeats)
    tier = _tier(args)
    return tier.repeats if tier else int(args.default_repeats)


def least_repeats_of(args: argparse.Namespace) -> int | None:
    """Repeats that always run: all of them where ``--repeats`` is given, else the
    tier's (the default's third runs only where the first two disagree)."""
    if args.repeats is not None:
        return None
    return _chosen(args).least_repeats


def max_time_of(args: argparse.Namespace) -> float | None:
    """``--max-time`` where given, else the tier's (None: the run does not wait for its
    memory to settle)."""
    if getattr(args, "max_time", None) is not None:
        return float(args.max_time)
    cap = _chosen(args).max_time_s
    floor = min_time_of(args)  # a --min-time past the cap raises it
    return None if cap is None else max(cap, floor or 0.0)


def min_time_of(args: argparse.Namespace) -> float | None:
    if args.min_time is not None:
        return float(args.min_time)
    return _chosen(args).min_time_s


def ceilings_of(args: argparse.Namespace) -> bool:
    if args.ceilings is not None:
        return bool(args.ceilings)
    return _chosen(args).ceilings


def settle_window_of(args: argparse.Namespace) -> float:
    """The seconds a settled peak must have held: the tier's."""
    return _chosen(args).settle_window_s
