"""One module per subcommand, listed once here; ``loadbench.cli`` builds the parser."""

from __future__ import annotations

from loadbench.cli.commands import (
    calibrate,
    compare,
    data,
    diagnose,
    profile,
    prove_limit,
    report,
    run,
    schema,
    sweep,
    tune,
)
from loadbench.cli.commands import list as list_command

COMMANDS = {
    "run": run,
    "profile": profile,
    "diagnose": diagnose,
    "tune": tune,
    "sweep": sweep,
    "prove-limit": prove_limit,
    "calibrate": calibrate,
    "report": report,
    "compare": compare,
    "data": data,
    "list": list_command,
    "schema": schema,
}
