"""One module per subcommand, listed once here; ``benchmarks.cli`` builds the parser."""

from __future__ import annotations

from benchmarks.commands import data, run

COMMANDS = {
    "run": run,
    "data": data,
}
