"""``loadbench list``: the registered strategies and where each comes from."""

from __future__ import annotations

import argparse

from loadbench.loaders import registry

HELP = "list the registered loading strategies"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def run(args: argparse.Namespace) -> int:
    found = list(registry.registrations().values())
    wide = max((len(reg.target) for reg in found), default=0)
    for reg in found:
        print(f"{reg.name:<16} {reg.target:<{wide}} {reg.origin}")
    return 0
