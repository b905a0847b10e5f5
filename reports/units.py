"""Human units, one definition for every printed table and report."""

from __future__ import annotations

BYTE_UNITS = ("B", "KB", "MB", "GB", "TB")


def format_bytes(count: float | None) -> str:
    """Decimal units (1 MB = 10^6 bytes), as ``ls -h --si`` and most tools' tables use."""
    if count is None:
        return "n/a"
    value = float(count)
    for unit in BYTE_UNITS:
        if abs(value) < 1000 or unit == BYTE_UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def format_rate(samples_per_s: float | None) -> str:
    return "n/a" if samples_per_s is None else f"{samples_per_s:,.0f} samples/s"


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"
