"""One module per subcommand, listed once here; ``benchmarks.cli`` builds the parser."""

from __future__ import annotations

from benchmarks.commands import data, run
from benchmarks.commands import list as list_command

COMMANDS = {
    "run": run,
    "data": data,
    "list": list_command,
}
