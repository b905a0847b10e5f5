"""Records: durable appends, torn last lines, clear errors naming file and line."""

from __future__ import annotations

import pytest

from benchmarks.harness import records
from benchmarks.harness.records import Record
from loaders.errors import RecordError


def record(**kwargs) -> Record:
    fields = dict(
        strategy="generator",
        mode="iterate",
        status="ok",
        dataset={"root": "synthetic", "split": "train", "pairs": 3, "image_size": [32, 32]},
        options={"batch_size": 4},
    )
    fields.update(kwargs)
    return Record(**fields)


def test_round_trip_and_keys(tmp_path):
    path = tmp_path / "r.jsonl"
    records.append(path, record(samples_per_s=12.5))
    records.append(path, record(strategy="memmap", status="timeout", error="no result"))
    back = records.read(path)
    assert [r.strategy for r in back] == ["generator", "memmap"]
    assert back[0].samples_per_s == 12.5 and back[1].error == "no result"
    assert back[0].key() != back[1].key()
    assert back[0].key() == record().key()


def test_torn_last_line_is_skipped_with_a_warning(tmp_path, caplog):
    path = tmp_path / "r.jsonl"
    records.append(path, record())
    records.append(path, record())
    with open(path, "a") as handle:
        handle.write('{"schema": 1, "strat')
    assert len(records.read(path)) == 2
    assert f"{path}:3: skipped a torn last line" in caplog.text


def test_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / "r.jsonl"
    records.append(path, record())
    with open(path, "a") as handle:
        handle.write("garbage\n")
    records.append(path, record())
    with pytest.raises(RecordError, match=rf"{path}:2: not JSON"):
        records.read(path)


def test_unknown_status_and_schema_are_refused(tmp_path):
    with pytest.raises(RecordError, match="status 'fine'"):
        record(status="fine")
    path = tmp_path / "r.jsonl"
    path.write_text('{"schema": 99}\n')
    with pytest.raises(RecordError, match=rf"{path}:1: schema 99.*newer loadbench: upgrade"):
        records.read(path)
    path.write_text('{"schema": 0}\n')
    with pytest.raises(RecordError, match=r"schema 0, this loadbench reads schema 1 and 2$"):
        records.read(path)


def test_command_line_is_what_a_user_would_type(monkeypatch):
    from benchmarks.harness.records import command_line

    monkeypatch.setattr("sys.argv", ["/home/u/.venv/bin/loadbench", "run", "--data", "my data"])
    assert command_line() == "loadbench run --data 'my data'"
    monkeypatch.setattr("sys.argv", ["/usr/bin/pytest", "benchmarks/", "--benchmark-only"])
    assert command_line() == "pytest benchmarks/ --benchmark-only"


def test_schema_1_records_are_read_with_their_newer_fields_null(tmp_path):
    import json
    from dataclasses import asdict

    old = asdict(record(peak_rss_bytes=5))
    for newer in ("repeat", "peak_pss_bytes", "process_peaks", "input_bound_share", "ceiling"):
        old.pop(newer)
    old["schema"] = 1
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(old) + "\n")
    [back] = records.read(path)
    assert back.schema == 1 and back.peak_rss_bytes == 5
    assert back.peak_pss_bytes is None and back.repeat == 0 and back.process_peaks == []
    assert records.SCHEMA == 2 and record().schema == 2


def test_a_repeat_is_not_part_of_a_run_s_identity():
    assert record(repeat=0).key() == record(repeat=2).key()
