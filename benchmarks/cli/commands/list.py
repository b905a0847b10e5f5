"""``loadbench list``: the registered strategies and where each comes from."""

from __future__ import annotations

import argparse

from loaders import registry

HELP = "list the registered loading strategies"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def run(args: argparse.Namespace) -> int:
    for reg in registry.registrations().values():
        print(f"{reg.name:<16} {reg.target:<40} {reg.origin}")
    return 0
