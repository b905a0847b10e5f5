"""Records written before the figures moved into sections (schema 8, by the loadbench of
that day: `loadbench run` iterating and training four strategies twice with the
ceilings, and one run through a tf.data service of its own) read in ``report`` and
``compare`` unchanged: every figure as the file holds it."""

from __future__ import annotations

import json
from pathlib import Path

from loadbench.cli import main
from loadbench.reports import jsonl
from loadbench.reports.records import FIELD_SECTION

FILE = Path(__file__).parent / "data" / "schema8-results.jsonl"


def test_every_figure_reads_as_the_file_holds_it():
    written = [json.loads(line) for line in FILE.read_text().splitlines()]
    assert {data["schema"] for data in written} == {8}
    read = jsonl.read(FILE)
    assert len(read) == len(written) == 21
    for data, record in zip(written, read, strict=True):
        for name in FIELD_SECTION.keys() & data.keys():
            assert record.figure(name) == data[name], (record.strategy, name)
        service = data["service"] or {}
        assert (record.service.target, record.service.network) == (
            service.get("target"),
            service.get("network"),
        )
        assert record.unknown == {} and not record.throughput.unknown
    served = [r for r in read if r.service]
    assert len(served) == 1 and served[0].service.network.startswith("loopback only")


def test_report_and_compare_take_them(tmp_path, capsys):
    assert main(["report", str(FILE), "--out", str(tmp_path)]) == 0
    page = (tmp_path / "report" / "index.html").read_text()
    assert "verdict:" in page and "tensor_slices" in page
    assert main(["compare", str(FILE), str(FILE)]) == 0
    assert "no regression" in capsys.readouterr().out
