"""Human units, one definition for every printed table and report."""

from __future__ import annotations

from loadbench.loaders.errors import OptionsError

BYTE_UNITS = ("B", "KB", "MB", "GB", "TB")
BYTE_SUFFIXES = {
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "b": 1,
}


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


def format_share(share: float | None) -> str:
    """A fraction as a percentage: 0.123 -> '12.3%'."""
    if share is None or share != share:
        return "n/a"
    return f"{share:.1%}" if share < 10 else f"{share:,.0%}"


def format_count(count: float | None) -> str:
    return "n/a" if count is None or count != count else f"{count:,.0f}"


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def parse_bytes(text: str | None, flag: str) -> int | None:
    """'4GB', '512MB', '2GiB', '1000000' to bytes (MB = 10^6, as the tables print)."""
    if text is None:
        return None
    cleaned = text.strip().lower().replace(" ", "")
    scale = 1
    for suffix, factor in sorted(BYTE_SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if cleaned.endswith(suffix):
            cleaned, scale = cleaned[: -len(suffix)], factor
            break
    try:
        value = float(cleaned) * scale
    except ValueError:
        raise OptionsError(f"{flag} {text!r}: expected a size such as 4GB or 512MB") from None
    if value < 0:
        raise OptionsError(f"{flag} {text!r}: must not be negative")
    return int(value)


def parse_percent(text: str, flag: str) -> float:
    """'10%', '10' or '0.1%' to a fraction (0.10, 0.10, 0.001)."""
    cleaned = text.strip().rstrip("%").strip()
    try:
        value = float(cleaned) / 100
    except ValueError:
        raise OptionsError(f"{flag} {text!r}: expected a percentage such as 10%") from None
    if value < 0:
        raise OptionsError(f"{flag} {text!r}: must not be negative")
    return value


def first_line(text: str | None, limit: int = 200) -> str:
    """The first line of an error, cut to ``limit`` characters, for one-line displays."""
    if not text:
        return ""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."
