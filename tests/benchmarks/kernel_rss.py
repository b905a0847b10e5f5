"""The kernel's maximum RSS of a command (ru_maxrss, GNU time's figure), read as GNU time
reads it: a small process starts the command and waits for it.

Not from the suite's own process: a command started straight from it starts with the
suite's high-water mark (exec keeps the forking process's as the new program's starting
maximum), so after the in-process fits of other tests a 670 MB run read as 753 MB, and
``python -c pass`` started from a process holding 300 MB read as 311 MB."""

from __future__ import annotations

import subprocess
import sys

TIMER = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(process.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def max_rss_of(argv: list[str], env: dict[str, str] | None = None) -> int:
    """The largest maximum RSS of the command and every process it waited for, in bytes
    (the kernel counts kilobytes on Linux)."""
    done = subprocess.run(
        [sys.executable, "-c", TIMER, *argv], capture_output=True, text=True, env=env
    )
    code, kilobytes = done.stdout.split()
    assert code == "0", (argv, done.stderr[-2000:])
    return int(kilobytes) * 1024
