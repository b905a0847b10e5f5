"""The ``loadbench`` command: builds the parser from the command table and is the one
place that turns a LoadbenchError into a message and an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

from loadbench.loaders.errors import LoadbenchError


def build_parser() -> argparse.ArgumentParser:
    from loadbench.cli.commands import COMMANDS

    parser = argparse.ArgumentParser(
        prog="loadbench",
        description="Compare TensorFlow data-loading strategies: speed, memory, graph size.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.prepare_parser(command)
        command.set_defaults(handler=module.run)
    return parser


def start_server_early(argv: list[str]) -> bool:
    """For ``run``, start the fork server before the parser imports every command: its
    import of TensorFlow (about 3 s) then overlaps the parent's own (pandas and scipy
    among them: about 1 s), and the first child starts that much sooner. Only
    where the start method is the fork server and readable here; otherwise, or for a bad
    value, nothing starts and the command's own parsing decides. Return whether it
    started."""
    from loadbench.harness import runner

    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("command", nargs="?")
    peek.add_argument("--start-method")
    seen, _ = peek.parse_known_args(argv)
    if seen.command != "run":
        return False
    try:
        method = seen.start_method or runner.default_start_method()
    except LoadbenchError:  # a bad LOADBENCH_START_METHOD: the command says so
        return False
    if method != "forkserver":
        return False
    runner.start_server(method)
    return True


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit status (2 for usage and bad data)."""
    # Quiet TensorFlow's C++ start-up chatter unless the user asked for it.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    early = start_server_early(sys.argv[1:] if argv is None else argv)
    try:
        return _main(argv)
    finally:
        if early:
            from loadbench.harness.runner import stop_fork_server

            stop_fork_server()  # also where the parser refused the arguments


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="loadbench: %(levelname)s: %(message)s",
    )
    try:
        return int(args.handler(args) or 0)
    except LoadbenchError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"loadbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("loadbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
