"""prove-limit: each outcome classified, the machine's resources checked first, and the
real paths run on a tiny dataset against a small artificial limit."""

from __future__ import annotations

import json

import pytest

from loadbench.cli import main
from loadbench.cli.commands.prove_limit import (
    NotEnoughMemory,
    check_resources,
    memory_needed,
    pairs_over,
)
from loadbench.harness.commands import limits
from loadbench.reports import jsonl
from loadbench.reports.records import LimitMeasurement

LIMIT = 100_000


@pytest.mark.parametrize(
    ("runner", "error", "result", "line", "status", "says"),
    [
        ("ok", None, {"graph_bytes": 5_000, "detail": "serialized"}, None, "passed", "5,000 B"),
        ("ok", None, {"graph_bytes": 150_000}, None, "over_limit", "over the 100,000 B limit"),
        (
            "ok",
            None,
            {"graph_bytes": 0},
            "tensorflow.GraphDef exceeded maximum protobuf size of 2GB: 2158431503",
            "failed",
            "empty graph instead of raising: TensorFlow logged 'tensorflow.GraphDef exceeded",
        ),
        ("error", "ValueError: Cannot create a tensor proto", {}, None, "failed", "ValueError"),
        (
            "crashed",
            "crashed with SIGABRT; last output: @ 0x7f cfunction_call",
            {},
            "Check failed: serializer_(msg_).ok()",
            "crashed",
            "crashed with SIGABRT: TensorFlow logged 'Check failed: serializer_(msg_).ok()'",
        ),
        ("timeout", "no result after 5 s", {}, None, "timeout", "no result after 5 s"),
    ],
)
def test_each_outcome_is_classified(runner, error, result, line, status, says):
    measured = LimitMeasurement(**result) if result else None
    got_status, outcome = limits.classify(runner, error, measured, LIMIT, line)
    assert got_status == status
    assert says in outcome


def test_limit_line_is_tensorflows_words_without_the_log_prefix(tmp_path):
    log = tmp_path / "run.log"
    log.write_text(
        "I0000 00:00:1795651422.596970   31804 port.cc:153] oneDNN custom operations are on.\n"
        "E0000 00:00:1795651450.838690   31804 message_lite.cc:592] tensorflow.GraphDef "
        "exceeded maximum protobuf size of 2GB: 2158431503\n"
    )
    assert limits.limit_line(str(log)) == (
        "tensorflow.GraphDef exceeded maximum protobuf size of 2GB: 2158431503"
    )
    assert limits.limit_line(str(tmp_path / "missing.log")) is None


def test_dataset_is_just_over_the_limit():
    per_pair = 256 * 256 * 7
    pairs = pairs_over(2**31, per_pair)
    assert 2**31 < pairs * per_pair < 2**31 * 1.01
    assert (pairs - 30) * per_pair < 2**31


def test_refuses_when_ram_or_disk_is_short(tmp_path):
    data = 2_200_000_000
    with pytest.raises(NotEnoughMemory, match=r"tensor_slices.*--loaders"):
        check_resources(["generator", "tensor_slices"], data, 8_000_000_000, 10**12, tmp_path)
    with pytest.raises(NotEnoughMemory, match="disk"):
        check_resources(["generator", "tfrecord"], data, 10**12, 3_000_000_000, tmp_path)
    check_resources(["generator"], data, memory_needed("generator", data), 10**12, tmp_path)
    assert memory_needed("tensor_slices", data) > 4 * data


def test_refusal_from_the_command_starts_nothing(tmp_path, monkeypatch, capsys):
    import psutil

    class Tiny:
        available = 100_000_000

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Tiny)
    code = main(["prove-limit", "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path)])
    assert code == 2
    assert "of RAM for tensor_slices" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "datasets").exists()


def test_paths_run_for_real_against_a_small_limit(tmp_path, capsys):
    """Against a 100 KB limit, a 15-pair 32x32 tensor_slices graph (about 110 KB) is over
    on every path that serializes it, and a streaming strategy's is not."""
    out = tmp_path / "out"
    code = main(
        [
            "prove-limit",
            "--size", "32",
            "--limit", str(LIMIT),
            "--loaders", "tensor_slices,generator,misbehaving:Aborts",
            "--paths", "serialize,function",
            "--out", str(out),
            "--cache-dir", str(tmp_path / "cache"),
        ]
    )  # fmt: skip
    assert code == 0
    found = {(r.strategy, r.path): r for r in jsonl.read_limits(out / "prove-limit.jsonl")}
    assert {k: r.status for k, r in found.items()} == {
        ("tensor_slices", "serialize"): "over_limit",
        ("tensor_slices", "function"): "over_limit",  # its arrays became graph constants
        ("generator", "serialize"): "passed",
        ("generator", "function"): "passed",
        ("misbehaving:Aborts", "serialize"): "crashed",
        ("misbehaving:Aborts", "function"): "crashed",
    }
    data_bytes = 15 * 32 * 32 * 7
    for path in ("serialize", "function"):
        assert found[("tensor_slices", path)].graph_bytes > data_bytes
        assert found[("generator", path)].graph_bytes < 20_000
    assert "SIGABRT" in found[("misbehaving:Aborts", "serialize")].outcome
    report = (out / "report" / "index.html").read_text()
    assert "The 2 GiB limit, proved" in report and "over_limit" in report
    assert "an artificial limit" in report
    printed = capsys.readouterr().out
    assert "tensor_slices    serialize  over_limit" in printed


def test_limit_records_refuse_a_newer_schema(tmp_path):
    path = tmp_path / "prove-limit.jsonl"
    path.write_text(json.dumps({"kind": "prove-limit", "schema": 99}) + "\n")
    with pytest.raises(Exception, match="schema 99"):
        jsonl.read_limits(path)
