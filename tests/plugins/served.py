"""Strategies that report on the tf.data service around them, for the service tests.

Each writes, from inside the measured child, JSON to $LOADBENCH_TEST_SERVICE_FILE: the
child's network namespace, the interfaces it can see and the service nodes' pids.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psutil
from ready import say_ready

from loadbench.loaders.strategies.fixed_length import FixedLength


def report() -> None:
    nodes = [
        p.pid
        for p in psutil.Process().children()
        if "loadbench.harness.child.data_service_node" in " ".join(p.cmdline())
    ]
    interfaces = [
        line.split(":")[0].strip()
        for line in Path("/proc/self/net/dev").read_text().splitlines()[2:]
    ]
    Path(os.environ["LOADBENCH_TEST_SERVICE_FILE"]).write_text(
        json.dumps(
            {"netns": os.readlink("/proc/self/ns/net"), "interfaces": interfaces, "nodes": nodes}
        )
    )
    say_ready("reported")


class Reports(FixedLength):
    name = "reports_service"

    def samples(self, data, options):
        report()
        return super().samples(data, options)


class CrashesWhileServed(FixedLength):
    name = "crashes_while_served"

    def samples(self, data, options):
        report()
        os.abort()


class SleepsWhileServed(FixedLength):
    name = "sleeps_while_served"

    def samples(self, data, options):
        report()
        time.sleep(600)
