"""Records: durable appends, torn last lines, clear errors naming file and line."""

from __future__ import annotations

import pytest
from record_factory import schema_8 as flat

from loadbench.loaders.errors import RecordError
from loadbench.reports import jsonl, records
from loadbench.reports.record_json import to_json
from loadbench.reports.records import Record


def record(**kwargs) -> Record:
    fields = dict(
        strategy="generator",
        mode="iterate",
        status="ok",
        dataset={"root": "synthetic", "split": "train", "pairs": 3, "image_size": [32, 32]},
        options={"batch_size": 4},
    )
    fields.update(kwargs)
    return Record.of_figures(**fields)


def test_round_trip_and_keys(tmp_path):
    path = tmp_path / "r.jsonl"
    jsonl.append(path, record(samples_per_s=12.5))
    jsonl.append(path, record(strategy="memmap", status="timeout", error="no result"))
    back = jsonl.read(path)
    assert [r.strategy for r in back] == ["generator", "memmap"]
    assert back[0].throughput.samples_per_s == 12.5 and back[1].error == "no result"
    assert back[0].key() != back[1].key()
    assert back[0].key() == record().key()


def test_torn_last_line_is_skipped_with_a_warning(tmp_path, caplog):
    path = tmp_path / "r.jsonl"
    jsonl.append(path, record())
    jsonl.append(path, record())
    with open(path, "a") as handle:
        handle.write('{"schema": 1, "strat')
    assert len(jsonl.read(path)) == 2
    assert f"{path}:3: skipped a torn last line" in caplog.text


def test_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / "r.jsonl"
    jsonl.append(path, record())
    with open(path, "a") as handle:
        handle.write("garbage\n")
    jsonl.append(path, record())
    with pytest.raises(RecordError, match=rf"{path}:2: not JSON"):
        jsonl.read(path)


def test_unknown_status_and_schema_are_refused(tmp_path):
    with pytest.raises(RecordError, match="status 'fine'"):
        record(status="fine")
    path = tmp_path / "r.jsonl"
    path.write_text('{"schema": 99}\n')
    with pytest.raises(RecordError, match=rf"{path}:1: schema 99.*newer loadbench: upgrade"):
        jsonl.read(path)
    path.write_text('{"schema": 0}\n')
    with pytest.raises(
        RecordError,
        match=r"schema 0, this loadbench reads schema 1 and 2 and 3 .* and 8 and 9$",
    ):
        jsonl.read(path)


def test_command_line_is_what_a_user_would_type(monkeypatch):
    from loadbench.harness.parent.builder import command_line

    monkeypatch.setattr("sys.argv", ["/home/u/.venv/bin/loadbench", "run", "--data", "my data"])
    assert command_line() == "loadbench run --data 'my data'"
    monkeypatch.setattr("sys.argv", ["/usr/bin/pytest", "benchmarks/", "--benchmark-only"])
    assert command_line() == "pytest benchmarks/ --benchmark-only"


def test_schema_1_records_are_read_with_their_newer_fields_null(tmp_path):
    import json

    old = flat(record(peak_rss_bytes=5))
    newer = ("repeat", "peak_pss_bytes", "process_peaks", "input_bound_share", "ceiling")
    for name in (*newer, "role", "width"):
        old.pop(name)
    old["schema"] = 1
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(old) + "\n")
    [back] = jsonl.read(path)
    assert back.schema == records.SCHEMA and back.memory.peak_rss_bytes == 5  # read as today
    assert (
        back.memory.peak_pss_bytes is None and back.repeat == 0 and back.memory.process_peaks == []
    )
    assert back.role == "strategy" and back.training.width is None
    assert back.options["normalize"] == "host"  # before schema 4 every pipeline made floats


def test_a_schema_5_record_is_read_as_it_was_its_copy_ceiling_not_renamed(tmp_path):
    import json

    old = flat(record(strategy="ceiling_copy", role="ceiling"))
    old.pop("element_spec")
    old["schema"] = 5
    path = tmp_path / "five.jsonl"
    path.write_text(json.dumps(old) + "\n")
    [back] = jsonl.read(path)
    assert (
        back.schema == records.SCHEMA
        and back.strategy == "ceiling_copy"
        and back.pipeline.element_spec is None
    )
    assert back.machine_speed is None  # read before there were readings


def test_a_schema_3_training_record_ran_the_real_step(tmp_path):
    import json

    old = flat(record(mode="train", input_wait_s=1.0, compute_s=3.0))
    for name in ("accelerator", "accelerator_source", "accelerator_busy_share", "batch_bytes"):
        old.pop(name)
    old.update(schema=3, env={"gpu": None})
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(old) + "\n")
    [back] = jsonl.read(path)
    assert (back.training.accelerator, back.training.accelerator_source) == ("cpu", "real")
    assert back.options["accelerator"] == "cpu"  # asked for: today's CPU default emulates
    assert back.training.accelerator_busy_share == 0.75 and back.training.accelerators_fed is None


def test_a_schema_2_ceiling_is_known_by_its_name_and_its_stored_fraction_goes(tmp_path):
    import json

    rows = []
    for strategy, fraction in (("ceiling_copy", None), ("tfrecord", 0.25)):
        old = flat(record(strategy=strategy, samples_per_s=100.0))
        old.pop("role")
        old.pop("width")
        old.update(schema=2, ceiling_fraction=fraction)
        rows.append(json.dumps(old))
    path = tmp_path / "old.jsonl"
    path.write_text("\n".join(rows) + "\n")
    ceiling, strategy = jsonl.read(path)
    assert ceiling.role == "ceiling" and ceiling.is_ceiling
    assert strategy.role == "strategy" and not hasattr(strategy, "ceiling_fraction")


def test_a_record_is_built_from_the_measurement_field_by_field():
    measured = records.Measurement.of_figures(
        samples_per_s=3.0, peak_rss_bytes=7, width=4, role="ceiling"
    )
    made = Record.of(measured, strategy="x", mode="train", status="ok")
    assert all(getattr(made, name) == getattr(measured, name) for name in records.MEASURED_FIELDS)
    with pytest.raises(RecordError, match="role 'boss'"):
        records.Measurement(role="boss")


def test_a_repeat_is_not_part_of_a_run_s_identity():
    assert record(repeat=0).key() == record(repeat=2).key()


def test_fields_this_reader_does_not_know_are_kept_and_said_once(tmp_path, caplog):
    import json

    written = to_json(record(samples_per_s=12.5))
    written["throughput"]["cpu_seconds_per_1000"] = 3.5  # a newer loadbench's field
    written["energy"] = {"joules": 7}  # and a newer section
    path = tmp_path / "newer.jsonl"
    path.write_text((json.dumps(written) + "\n") * 2)
    first, second = jsonl.read(path)
    assert first.throughput.samples_per_s == 12.5 and first.schema == records.SCHEMA
    assert first.throughput.unknown == {"cpu_seconds_per_1000": 3.5}
    assert first.unknown == {"energy": {"joules": 7}}
    warned = [r for r in caplog.records if "this loadbench does not know" in r.getMessage()]
    assert len(warned) == 1  # once for the file, both records and both fields
    assert "energy" in warned[0].getMessage()
    assert "throughput.cpu_seconds_per_1000" in warned[0].getMessage()
    again = tmp_path / "again.jsonl"
    jsonl.append(again, second)  # written back as it was read
    assert json.loads(again.read_text()) == written


def test_a_section_is_written_only_where_it_was_measured(tmp_path):
    import json

    path = tmp_path / "r.jsonl"
    jsonl.append(path, record(samples_per_s=12.5, peak_pss_bytes=3))
    data = json.loads(path.read_text())
    assert data["throughput"] == {"samples_per_s": 12.5}
    assert data["memory"] == {"peak_pss_bytes": 3}
    assert not {"graph", "training", "service", "pipeline"} & set(data)
    [back] = jsonl.read(path)
    assert not back.training and back.training.accelerators_fed is None
