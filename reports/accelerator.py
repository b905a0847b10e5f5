"""The report's answer to "would it keep an accelerator busy?": per accelerator a
training run stood for, each strategy's accelerator utilisation (AU) against MLPerf
Storage's 90% line, its input-bound share in the TF Profiler's bands, and how many such
accelerators it feeds; and, where runs were made both ways, what normalising on the host
costs against handing uint8 to the device. Pure functions of the summary table."""

from __future__ import annotations

import base64

import pandas as pd

from loadbench.reports import figures
from loadbench.reports.html_summary import number, ranged
from loadbench.reports.metrics import BUSY_LINE, BY_FIELD
from loadbench.reports.units import format_bytes, format_share

# The TF Profiler's input-pipeline analyser: under 5% of step time waiting for input is
# not input-bound, 5-20% moderately, 20% and more highly.
BANDS = ((0.05, "not input-bound"), (0.20, "moderately input-bound"))
HIGHLY = "highly input-bound"
SOURCE_WORDS = {
    "derived": "emulated, step time derived (not measured on the device)",
    "measured": "emulated, step time measured on the device by loadbench calibrate",
    "given": "emulated, step time given with --step-time",
    "real": "the real training step on this machine",
}


def band(share: float | None) -> str:
    """The TF Profiler's words for an input-bound share."""
    if share is None or share != share:
        return "n/a"
    return next((words for limit, words in BANDS if share < limit), HIGHLY)


def display_name(name: str) -> str:
    """'h100' -> 'H100'; 'cpu' -> "this machine's CPU"; a profile's own name as it is."""
    if name == "cpu":
        return "this machine's CPU"
    if name == "gpu":
        return "this machine's GPU"
    if name == "step-time":
        return "an accelerator of the given step time"
    return name.upper() if name.isalnum() and len(name) <= 5 else name


def _of(batch_size: object) -> str:
    """' of 32'; nothing for a user's pipeline, whose batch loadbench did not choose."""
    return f" of {int(batch_size)}" if pd.notna(batch_size) else ""  # type: ignore[call-overload]


def sections(table: pd.DataFrame) -> list[dict]:
    """One section per accelerator the training runs stood for."""
    trained = table[(table["mode"] == "train") & table["accelerator"].notna()]
    out = []
    for name, group in trained.groupby("accelerator", sort=False):
        group = group.reset_index(drop=True)
        names = _names(group)
        rows = [_row(row, label) for label, (_, row) in zip(names, group.iterrows(), strict=True)]
        source = str(group["accelerator_source"].dropna().iloc[-1])
        steps = ", ".join(
            f"{figures_ms(row['accelerator_step_s'])} per batch" + _of(row["batch_size"])
            for _, row in group.drop_duplicates(["batch_size", "accelerator_step_s"]).iterrows()
            if row["accelerator_step_s"] == row["accelerator_step_s"]
        )
        plotted = group[group["accelerator_busy_share"].notna()]
        png = figures.busy_share(plotted, _names(plotted), display_name(str(name)))
        out.append(
            {
                "title": f"Would it keep {display_name(str(name))} busy?",
                "how": SOURCE_WORDS.get(source, source),
                "steps": steps,
                "rows": rows,
                "png": base64.b64encode(png).decode("ascii"),
            }
        )
    return out


def figures_ms(seconds: float | None) -> str:
    return "n/a" if seconds is None or seconds != seconds else f"{seconds * 1e3:.1f} ms"


def _names(rows: pd.DataFrame) -> list[str]:
    """Strategy names, with their normalisation where a strategy ran both ways."""
    twice = rows.duplicated(["strategy"], keep=False)
    return [
        f"{r.strategy} ({r.normalize})" if again else str(r.strategy)
        for r, again in zip(rows.itertuples(), twice, strict=True)
    ]


def _row(row: pd.Series, name: str) -> dict:
    share = number(row.get("accelerator_busy_share"))
    waits = number(row.get("input_bound_share"))
    fed = number(row.get("accelerators_fed"))
    kept = share is not None and share >= BUSY_LINE
    fed_text = (
        "n/a"
        if fed is None
        else f"{'at least ' if row['accelerators_fed_capped'] else ''}{fed:.0f}"
    )
    return {
        "strategy": name,
        "status": row["status"],
        "rate": ranged(row, "samples_per_s"),
        "busy": ranged(row, "accelerator_busy_share"),
        "waits": format_share(waits),
        "band": band(waits),
        "fed": fed_text,
        "memory": f"{format_bytes(number(row.get('memory_bytes')))} {row['memory_figure']}",
        "kept": kept,
        "verdict": "keeps it busy"
        if kept
        else ("run failed" if row["status"] != "ok" else f"starves it: busy {format_share(share)}"),
    }


def normalization(table: pd.DataFrame) -> dict | None:
    """Strategies measured with both normalisations, side by side: samples/s and peak
    memory handing uint8 to the device against a float map on the host."""
    both = table[table["role"] != "ceiling"].copy()
    both["others"] = both["options"].str.replace(r"normalize=\w+ ?", "", regex=True)
    keys = ["dataset", "split", "pairs", "image_size", "mode", "others", "strategy"]
    rows = []
    for _, group in both.groupby(keys, sort=False, dropna=False):
        sides = {row["normalize"]: row for _, row in group.iterrows()}
        if set(sides) != {"device", "host"}:
            continue
        device, host = sides["device"], sides["host"]
        rate_d, rate_h = number(device["samples_per_s"]), number(host["samples_per_s"])
        rows.append(
            {
                "strategy": device["strategy"],
                "mode": device["mode"],
                "device_rate": ranged(device, "samples_per_s"),
                "host_rate": ranged(host, "samples_per_s"),
                "ratio": f"{rate_d / rate_h:.2f}x" if rate_d and rate_h else "n/a",
                "device_memory": format_bytes(number(device["memory_bytes"])),
                "host_memory": format_bytes(number(host["memory_bytes"])),
                "device_batch": format_bytes(number(device.get("batch_bytes"))),
                "host_batch": format_bytes(number(host.get("batch_bytes"))),
            }
        )
    return {"rows": rows, "label": BY_FIELD["samples_per_s"].label} if rows else None
