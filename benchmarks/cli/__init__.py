"""The ``loadbench`` command: builds the parser from the command table and is the one
place that turns a LoadbenchError into a message and an exit code."""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import re
import sys
import traceback
from typing import Any, NoReturn

from loadbench.loaders.errors import LoadbenchError


class Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors name the flag, what it takes and an example,
    and suggest the flag meant where one is unknown (exit 2, as argparse's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)  # --loader is not --loaders: say so
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", Subcommands)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {explain(self, message)}\n")


class Help(argparse.HelpFormatter):
    """One line a flag where it fits: ``-l, --loaders NAMES`` (the metavar once) and
    ``--[no-]ceilings`` for a flag with its negation, helps from column 32."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        kwargs.setdefault("max_help_position", 32)
        super().__init__(prog, **kwargs)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if not action.option_strings:
            return super()._format_action_invocation(action)
        if isinstance(action, argparse.BooleanOptionalAction):
            return ", ".join(o.replace("--", "--[no-]", 1) for o in action.option_strings[::2])
        flags = ", ".join(action.option_strings)
        if action.nargs == 0:
            return flags
        metavar = self._get_default_metavar_for_optional(action)
        return f"{flags} {self._format_args(action, metavar)}"


class Subcommands(argparse._SubParsersAction):
    """argparse's subcommands, except that a subcommand's unknown flags are its own
    parser's error: argparse hands them up to the top parser, whose flags (--debug)
    are not the ones to suggest."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        super().__call__(parser, namespace, values, option_string)
        unknown = vars(namespace).pop(argparse._UNRECOGNIZED_ARGS_ATTR, None)
        if unknown:
            chosen = self._name_parser_map[values[0]]
            chosen.error(f"unrecognized arguments: {' '.join(unknown)}")


TAKES = {int: "a whole number", float: "a number"}
EXAMPLES = {int: "3", float: "0.5"}


def explain(parser: argparse.ArgumentParser, message: str) -> str:
    """argparse's ``message`` with what the flag takes and an example, or the flags
    closest to an unknown one."""
    flags = [o for a in parser._actions for o in a.option_strings]
    if message.startswith("unrecognized arguments:"):
        unknown = [w for w in message.split(":", 1)[1].split() if w.startswith("-")]
        near = [m for w in unknown for m in difflib.get_close_matches(w.split("=")[0], flags, 2)]
        hint = f"; did you mean {' or '.join(dict.fromkeys(near))}?" if near else ""
        return f"{message}{hint} ({parser.prog} --help lists the flags)"
    found = re.match(r"argument (\S+): invalid (\w+) value: '(.*)'", message)
    if not found:
        return message
    names = found.group(1).split("/")
    action = next((a for a in parser._actions if set(a.option_strings) == set(names)), None)
    if action is None or action.type not in TAKES:
        return message
    flag = max(names, key=len)
    return (
        f"{flag} takes {TAKES[action.type]}, not {found.group(3)!r}: for example "
        f"{flag} {action.default if action.default is not None else EXAMPLES[action.type]}"
    )


def build_parser() -> argparse.ArgumentParser:
    from loadbench.cli.commands import COMMANDS

    parser = Parser(
        prog="loadbench",
        description="Compare TensorFlow data-loading strategies: speed, memory, graph size.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        command = sub.add_parser(
            name, help=module.HELP, description=module.HELP, formatter_class=Help
        )
        module.prepare_parser(command)
        command.set_defaults(handler=module.run)
        _short_usage(command)
    return parser


def _short_usage(parser: argparse.ArgumentParser) -> None:
    """'loadbench run [options]': the flags are listed once, under their groups."""
    words = []
    for action in parser._actions:
        if action.option_strings:
            continue
        word = str(action.metavar or action.dest)
        words.append(f"{word} ..." if action.nargs in ("+", "*") else word)
        for child in (action.choices or {}).values() if isinstance(action.choices, dict) else []:
            _short_usage(child)
    parser.usage = " ".join(["%(prog)s [options]", *words])


def start_server_early(argv: list[str]) -> bool:
    """For ``run``, start the fork server before the parser imports every command: its
    import of TensorFlow (about 3 s) then overlaps the parent's own (pandas and scipy
    among them: about 1 s), and the first child starts that much sooner. Only
    where the start method is the fork server and readable here; otherwise, or for a bad
    value, nothing starts and the command's own parsing decides. Return whether it
    started."""
    from loadbench.harness.parent import runner

    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("command", nargs="?")
    peek.add_argument("--start-method")
    peek.add_argument("-h", "--help", action="store_true")
    seen, _ = peek.parse_known_args(argv)
    if seen.command != "run" or seen.help:
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
            from loadbench.harness.parent.runner import stop_fork_server

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
