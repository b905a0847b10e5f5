"""Helper shared by the report's tests: ``loadbench report`` into a temporary folder."""

from __future__ import annotations

from loadbench.cli import main


def render(tmp_path, *paths, flags=()) -> str:
    """``loadbench report --out tmp_path``: the page it writes to tmp_path/report/."""
    assert main(["report", *map(str, paths), "--out", str(tmp_path), *flags]) == 0
    report = tmp_path / "report"
    assert (report / "results.csv").is_file()
    return (report / "index.html").read_text()
