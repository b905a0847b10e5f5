"""The report's tune section (``loadbench tune``): every trial's AU against its peak, the
Pareto front among them, the baselines beside the recommendation, what each change
bought and the code that applies it. Read from the trials' records (their ``options``
carry ``tune``: the point, and ``baseline``: which baseline it was) and the
``recommendation.json`` the search wrote."""

from __future__ import annotations

import base64
from typing import Any

from loadbench.reports.figures import FAILED_COLOR, MB, OK_COLOR, _png, plt
from loadbench.reports.metrics import BUSY_LINE
from loadbench.reports.records import Record
from loadbench.reports.units import format_bytes


def trials(records: list[Record]) -> list[Record]:
    return [r for r in records if isinstance(r.options.get("tune"), dict)]


def busy_of(record: Record) -> float | None:
    """What the search judged: AU over the settle window, else over the whole loop."""
    found = record.training.settled_busy_share
    return found if found is not None else record.training.accelerator_busy_share


def section(records: list[Record], found: dict[str, Any] | None) -> dict | None:
    """The section's figure and tables, or None where no tune ran."""
    measured = trials(records)
    if not measured:
        return None
    budget = (found or {}).get("memory_budget_bytes")
    rows = [_row(m) for m in (found or {}).get("baselines", [])]
    if found:
        settings = {**found.get("kwargs", {}), **found.get("options", {})}
        rows.append(
            {
                "label": "recommended",
                "settings": _settings(settings) or "as given",
                "busy": _range(found["accelerator_busy_share_range"], "share"),
                "peak": _range(found["peak_pss_bytes_range"], "bytes"),
            }
        )
    return {
        "png": base64.b64encode(front_figure(measured, found)).decode("ascii"),
        "rows": rows,
        "budget": format_bytes(budget) if budget else "-",
        "trials": (found or {}).get("trials", len(measured)),
        "minutes": (found or {}).get("minutes"),
        "changes": [
            f"{c['setting']}: {_value(c['from'])} -> {_value(c['to'])}: busy {c['busy'][0]:.1%} -> "
            f"{c['busy'][1]:.1%}, peak {format_bytes(c['peak_pss_bytes'][0])} -> "
            f"{format_bytes(c['peak_pss_bytes'][1])}"
            for c in (found or {}).get("changes", [])
        ],
        "warnings": (found or {}).get("warnings", []),
        "target": (found or {}).get("target") or measured[0].strategy,
    }


def _row(summary: dict[str, Any]) -> dict[str, str]:
    busy, peak = summary.get("accelerator_busy_share"), summary.get("peak_pss_bytes")
    return {
        "label": f"baseline: {summary.get('label') or '-'}",
        "settings": _settings(summary["settings"]),
        "busy": "over the budget" if summary.get("over_budget") else f"{busy:.1%}" if busy else "-",
        "peak": format_bytes(peak) if peak else "-",
    }


def _value(value: Any) -> str:
    """A setting's value as the command line takes it: AUTOTUNE (-1) as "autotune"."""
    if value is None:
        return "as given"
    if value == -1 and not isinstance(value, bool):
        return "autotune"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _settings(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in values.items())


def _range(values: list[float], unit: str) -> str:
    low, high = values
    shown = (lambda v: f"{v:.1%}") if unit == "share" else format_bytes
    return shown(low) if low == high else f"{shown(low)}-{shown(high)}"


def front_figure(measured: list[Record], found: dict[str, Any] | None) -> bytes:
    """AU against peak for every trial: ok ones as dots, the Pareto front joined, the
    baselines and the recommendation marked, over-budget trials as crosses at the peak
    where they stopped, the budget and the 90% line."""
    figure, axis = plt.subplots(figsize=(9, 5.2))
    points = [
        (peak / MB, 100 * busy)
        for r in measured
        if r.status == "ok"
        and (peak := r.memory.peak_pss_bytes) is not None
        and (busy := busy_of(r)) is not None
    ]
    if points:
        axis.scatter(*zip(*points, strict=True), s=18, color="#7f8c8d", label="trials")
    over = [
        (peak / MB, 100 * (busy_of(r) or 0))
        for r in measured
        if r.status == "over_budget" and (peak := r.memory.peak_pss_bytes)
    ]
    if over:
        axis.scatter(
            *zip(*over, strict=True),
            marker="x",
            color=FAILED_COLOR,
            label="over the budget (stopped)",
        )
    front = _front(points)
    if front:
        axis.plot(
            *zip(*front, strict=True),
            color=OK_COLOR,
            linewidth=1.2,
            drawstyle="steps-post",
            label="Pareto front",
        )
    for summary in (found or {}).get("baselines", []):
        if summary.get("peak_pss_bytes") and summary.get("accelerator_busy_share") is not None:
            x, y = summary["peak_pss_bytes"] / MB, 100 * summary["accelerator_busy_share"]
            axis.scatter([x], [y], marker="s", s=50, facecolors="none", edgecolors="#2c3e50")
            axis.annotate(
                summary.get("label") or "",
                (x, y),
                fontsize=8,
                xytext=(5, -10),
                textcoords="offset points",
            )
    if found:
        x, y = found["peak_pss_bytes"] / MB, 100 * found["accelerator_busy_share"]
        axis.scatter([x], [y], marker="*", s=160, color=OK_COLOR, label="recommended", zorder=5)
        budget = found.get("memory_budget_bytes")
        if budget:
            axis.axvline(budget / MB, color=FAILED_COLOR, linestyle="--", linewidth=1)
    axis.axhline(100 * BUSY_LINE, color="#7f8c8d", linestyle=":", linewidth=1)
    axis.set_xlabel("peak PSS above baseline, MB")
    axis.set_ylabel("accelerator busy (AU), %, settled")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    return _png(figure)


def _front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other beats on both (less memory and busier), by memory."""
    front: list[tuple[float, float]] = []
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or y > front[-1][1]:
            front.append((x, y))
    return front
