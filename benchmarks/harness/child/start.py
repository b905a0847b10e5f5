"""The child's first call, light enough for the parent to import: a forked child enters
through the fork server's ``preload`` (imported there already), which hands it the
server's start-up state; a spawned child goes straight to ``child_main``."""

from __future__ import annotations

from typing import Any

from loadbench.harness.child.entry import Setting, child_main


def start(spec: Any, result_path: str, work: Any, setting: Setting) -> None:
    """The target of every measuring child (``loadbench.harness.parent.runner``)."""
    if setting.forked:
        from loadbench.harness.child import preload

        preload.run(spec, result_path, work, setting)
    else:
        child_main(spec, result_path, work, setting)
