"""The report's tune section: every trial's AU against its peak, the baselines beside the
recommendation, from the trials' records and recommendation.json."""

from __future__ import annotations

from record_factory import trained

from loadbench.reports import tune
from loadbench.reports.html import write_report

MB = 1_000_000


def _trial(point: dict, busy: float, peak: int, status: str = "ok", baseline: str = ""):
    options = {"batch_size": 32, "tune": point, **({"baseline": baseline} if baseline else {})}
    return trained(
        "files", busy, settled_busy_share=busy, peak_pss_bytes=peak, status=status, options=options
    )


def _tuned():
    given = {"cache": "none", "prefetch": "autotune"}
    records = [
        _trial(given, 0.96, 118 * MB, baseline="as given"),
        _trial({"cache": "memory", "prefetch": "autotune"}, 0.98, 1100 * MB, "over_budget"),
        _trial({"cache": "none", "prefetch": "1"}, 0.976, 96 * MB),
    ]
    found = {
        "target": "files",
        "kwargs": {"cache": "none", "prefetch": 1},
        "options": {},
        "accelerator_busy_share": 0.976,
        "accelerator_busy_share_range": [0.971, 0.982],
        "peak_pss_bytes": 96 * MB,
        "peak_pss_bytes_range": [75 * MB, 96 * MB],
        "memory_budget_bytes": 1000 * MB,
        "trials": 3,
        "minutes": 1.3,
        "baselines": [
            {
                "settings": {"cache": "none", "prefetch": -1},
                "label": "as given",
                "accelerator_busy_share": 0.96,
                "peak_pss_bytes": 118 * MB,
                "over_budget": False,
            }
        ],
        "changes": [
            {
                "setting": "prefetch",
                "from": -1,
                "to": 1,
                "busy": [0.96, 0.976],
                "peak_pss_bytes": [118 * MB, 96 * MB],
            }
        ],
        "warnings": ["deterministic=False: elements may come in another order"],
    }
    return records, found


def test_the_section_puts_the_baselines_beside_the_recommendation():
    records, found = _tuned()
    section = tune.section(records, found)
    assert [row["label"] for row in section["rows"]] == ["baseline: as given", "recommended"]
    assert section["rows"][0]["settings"] == "cache=none, prefetch=autotune"
    assert section["rows"][1]["busy"] == "97.1%-98.2%"
    assert section["changes"] == [
        "prefetch: autotune -> 1: busy 96.0% -> 97.6%, peak 118.0 MB -> 96.0 MB"
    ]
    assert section["png"] and section["budget"] == "1.0 GB"


def test_no_tune_no_section(tmp_path):
    assert tune.section([trained("files", 0.9)], None) is None


def test_the_report_holds_the_section(tmp_path):
    records, found = _tuned()
    html = write_report(records, tmp_path, ["results.jsonl"], tuned=found).read_text()
    assert "Tuned: the settings that keep the accelerator busiest within 1.0 GB" in html
    assert "elements may come in another order" in html
