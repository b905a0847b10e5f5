"""The distribution table: distributable or not with the reason, figures per workers."""

from __future__ import annotations

from record_factory import make, write

from loadbench.cli import main
from loadbench.reports.data_service import table, workers

CALLBACK = (
    "InvalidArgumentError: Could not find callback with key=pyfunc_0 in the registry. "
    "[Op:IteratorGetNext]"
)


def served(strategy, count, **fields):
    options = {"batch_size": 32, "cache": "none", "steps": 10, "warmup_steps": 2}
    if count:
        options.update(service=str(count), processing_mode="parallel_epochs")
    return make(strategy, options=options, **fields)


def runs():
    out = []
    for count in (0, 1, 2):
        out.append(
            served(
                "fixed_length",
                count,
                samples_per_s=1000.0 * (count or 1),
                client_peak_rss_bytes=50_000_000 if count else None,
                worker_peak_rss_bytes=[40_000_000] * count,
            )
        )
        status = {"status": "error", "error": CALLBACK} if count else {}
        out.append(served("generator", count, **status))
    return out


def test_workers_of_a_run():
    assert workers(served("x", 0)) == 0 and workers(served("x", 2)) == 2
    assert workers(make("x", options={"service": "grpc://host:5050"})) is None


def test_table_says_who_can_be_distributed_and_why_not():
    found = {row["strategy"]: row for row in table(runs()).to_dict("records")}
    assert found["fixed_length"]["distributable"] and not found["fixed_length"]["reason"]
    assert found["fixed_length"]["samples_per_s_2"] == 2000.0
    assert found["fixed_length"]["workers_peak_2"] == 80_000_000  # summed over workers
    assert found["fixed_length"]["client_peak_0"] == 100_000_000  # local: the run's peak
    generator = found["generator"]
    assert not generator["distributable"]
    assert "Could not find callback with key=pyfunc_0 in the registry" in generator["reason"]
    assert "calls Python" in generator["reason"]


def test_report_has_the_distribution_table(tmp_path):
    assert main(["report", str(write(tmp_path / "r.jsonl", runs())), "--out", str(tmp_path)]) == 0
    html = (tmp_path / "report" / "index.html").read_text()
    assert "Through the tf.data service" in html and "2 worker(s): samples/s" in html
    assert "Could not find callback" in html


def test_no_service_no_table():
    assert table([served("generator", 0)]).empty
