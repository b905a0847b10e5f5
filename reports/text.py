"""The terminal's tables: each lays out the rows ``loadbench.reports.tables`` (or the summary)
computes, in fixed-width columns; nothing here computes a figure."""

from __future__ import annotations

import json
import textwrap

from loadbench.reports.compare import Tolerances
from loadbench.reports.metrics import BY_FIELD, NARROW_FIELDS, SUMMARY_FIELDS
from loadbench.reports.records import Record
from loadbench.reports.stats import median
from loadbench.reports.summary import UNSTABLE_HINT, VARIES_HINT, summary, with_spread
from loadbench.reports.tables import CompareRow, FitRow, LimitRow, ModelRow
from loadbench.reports.units import first_line
from loadbench.reports.verdict import BUSY_LINE, busy_percent, verdict

# A row whose peaks spread wider than the gate's default memory tolerance would pass or
# fail ``loadbench compare`` by which repeat it took.
GATE_MEMORY_TOLERANCE = Tolerances().memory

RANGED = ("samples_per_s", "peak_pss_bytes", "peak_rss_bytes")  # printed with their spread


def compare(rows: list[CompareRow]) -> str:
    lines = [f"{'run':<44} {'metric':<14} {'baseline':>16} {'current':>16} {'change':>8}  verdict"]
    lines += [
        f"{r.run:<44} {r.metric:<14} {r.baseline:>16} {r.current:>16} {r.change:>8}  {r.verdict}"
        for r in rows
    ]
    return "\n".join(lines)


def memory_model(rows: list[ModelRow], tolerance: str) -> str:
    lines = [
        f"memory model (iterate mode; within {tolerance} is the bar)",
        f"{'strategy':<16} {'pairs':>6} {'measured':>9} {'predicted':>9} {'error':>7}  "
        "largest terms",
    ]
    lines += [
        f"{r.strategy:<16} {r.pairs:>6} {r.measured:>9} {r.predicted:>9} {r.error:>7}  "
        f"{r.terms}{'' if r.within else '  (outside)'}"
        for r in rows
    ]
    return "\n".join(lines)


def limits(rows: list[LimitRow]) -> str:
    lines = [f"{'strategy':<16} {'path':<10} {'status':<11} {'graph':>10} {'peak RSS':>9}  outcome"]
    lines += [
        f"{r.strategy:<16} {r.path:<10} {r.status:<11} {r.graph:>10} {r.peak:>9}  "
        f"{first_line(r.outcome)[:160]}"
        for r in rows
    ]
    return "\n".join(lines)


def fits(rows: list[FitRow], bytes_per_sample: int) -> str:
    lines = [
        f"fits against dataset bytes ({bytes_per_sample:,} bytes per sample)",
        f"{'mode':<8} {'strategy':<16} {'metric':<20} {'per data byte':>13} {'B per pair':>10} "
        f"{'intercept':>10} {'R^2':>6}  reaches the limit at",
    ]
    lines += [
        f"{r.mode:<8} {r.strategy:<16} {r.metric:<20} {r.slope:>13} {r.per_pair:>10} "
        f"{r.intercept:>10} {r.r2:>6}  {r.where}"
        for r in rows
    ]
    return "\n".join(lines)


VARIANT_OPTIONS = ("cache", "normalize")
VARIANT_WIDTH = 10


def _accelerators(table) -> list[str]:
    """What the training runs stood for, a line each."""
    trained = table[(table["mode"] == "train") & table["accelerator"].notna()]
    lines = []
    for name, group in trained.groupby("accelerator", sort=False):
        source = group["accelerator_source"].dropna()
        step = group["accelerator_step_s"].dropna()
        how = f"{source.iloc[-1]} step" if len(source) else "step"
        each = f", {step.median() * 1e3:.1f} ms per batch" if len(step) else ""
        lines.append(
            f"train: {name} ({how}{each}); busy (AU) against MLPerf Storage's 90% line, "
            "accelerators fed: the most kept at 90%, measured"
        )
    return lines


def _references(written: list[Record]) -> list[str]:
    """Each ceiling against its outside instrument, measured in the same children: the
    medians of their ok repeats, a line per ceiling and options."""
    found: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for record in written:
        if (
            record.status == "ok"
            and record.throughput.samples_per_s
            and record.throughput.reference_samples_per_s
        ):
            key = (record.strategy, json.dumps(record.options, sort_keys=True))
            found.setdefault(key, []).append(
                (record.throughput.samples_per_s, record.throughput.reference_samples_per_s)
            )
    lines = []
    for (name, _), pairs in found.items():
        rate = median([p[0] for p in pairs]) or 0.0
        reference = median([p[1] for p in pairs]) or 0.0
        lines.append(
            f"{name}: {rate:,.0f} samples/s, {rate / reference:.2f}x numpy copying the same "
            f"batches once in the same child ({reference:,.0f} samples/s)"
        )
    return lines


def _pairing(written: list[Record]) -> list[str]:
    """A line for a strategy that paired files by position and got some wrong."""
    found = {
        r.strategy: r.pipeline.pairing
        for r in written
        if r.pipeline.pairing and r.pipeline.pairing.get("mispaired")
    }
    lines = []
    for strategy, pairing in found.items():
        first = ", ".join(pairing["first_mispaired"][0])
        lines.append(
            f"{strategy}: {pairing['rule']} mispaired {pairing['mispaired']:,} of "
            f"{pairing['triples']:,} samples (the first: {first}); the report lists them"
        )
    return lines


SHORT_LABELS = {
    "ceiling_fraction": "ceiling",
    "accelerator_busy_share": "busy",
    "accelerators_fed": "fed",
    "first_batch_s": "1st batch",
    "dataset_graph_bytes": "graph",
}
MARK = "~"
NARROW_WIDTH = 120


def run_summary(written: list[Record], *, wide: bool = False, verbose: bool = False) -> str:
    """The answer to one invocation: the verdict first, then a table of at most 120
    columns (medians of the repeats; a row marked where its spread changes a decision),
    with a line under it for the marks. ``wide``: every column with its spread, and why
    each measurement's repeats differ; ``verbose``: those reasons under the narrow table."""
    if not written:
        return ""
    found = verdict(written)
    head = ["", *_folded(found.lines())] if found else []
    if wide:
        return "\n".join([*head, wide_summary(written)])
    table = summary(written)
    lines = [*head, "", *narrow_table(table)]
    lines.extend(_folded(_pairing(written)))
    if verbose:
        lines.extend(_folded(_accelerators(table)))
        lines.extend(_folded(_references(written)))
        lines.extend(_folded(_reasons(table)))
    return "\n".join(lines)


def _folded(lines: list[str]) -> list[str]:
    """Prose lines folded at 120 characters (the verdict names every strategy that
    passes), what a line carries on indented two more than its start."""
    folded = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip()) + 2)
        folded.extend(
            textwrap.wrap(
                line,
                NARROW_WIDTH,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or [line]
        )
    return folded


def narrow_table(table) -> list[str]:
    """The summary's medians in columns that fit 120 characters, the marks' line below."""
    fields = [f for f in NARROW_FIELDS if table[f].notna().any() or f == "samples_per_s"]
    labels = [SHORT_LABELS.get(f, BY_FIELD[f].label) for f in fields]
    named = max(16, *(len(str(n)) + 1 for n in table["strategy"]))
    cells: list[list[str] | None] = []  # None: a failed row, said in words
    for _, row in table.iterrows():
        if row["status"] != "ok":
            cells.append(None)
            continue
        cells.append([_narrow_cell(row.get(f), f) for f in fields])
    widths = [  # every row failed: the labels' own widths
        max([len(label), *(len(c[i]) for c in cells if c is not None)])
        for i, label in enumerate(labels)
    ]
    header = "".join(f" {label:>{w}}" for label, w in zip(labels, widths, strict=True))
    lines = [f"{'mode':<8} {'strategy':<{named}} {'runs':>4}{header}"]
    marks = decision_marks(table)
    for (index, row), line in zip(table.iterrows(), cells, strict=True):
        name = f"{row['mode']:<8} {row['strategy']:<{named}} {row['ok_runs']:>1}/{row['runs']:<2}"
        if line is None:
            said = f"{row['status']}: {first_line(str(row['error'] or ''))}"
            lines.append(f"{name} {said[: 118 - len(name)]}")
            continue
        body = "".join(f" {c:>{w}}" for c, w in zip(line, widths, strict=True))
        lines.append(f"{name}{body}{' ' + MARK if index in marks else ''}".rstrip())
    lines.append(
        "medians of the repeats; busy: accelerator utilisation (AU); fed: accelerators kept "
        "90% busy; peaks above the baseline"
    )
    if marks:
        said = f"{MARK} repeats disagree enough to change a decision: {_marks_said(table, marks)}"
        lines.extend(textwrap.wrap(said, NARROW_WIDTH, subsequent_indent="  "))
    return lines


def _marks_said(table, marks: dict[int, str]) -> str:
    """The marks in one line: each reason with its rows, counted where there are many."""
    by_reason: dict[str, list[str]] = {}
    for index, why in marks.items():
        busy = why.startswith("busy")
        label = f"{table.loc[index, 'mode']} {table.loc[index, 'strategy']}"
        by_reason.setdefault("busy crosses the line" if busy else why, []).append(
            f"{label} {why.split(' crosses')[0].removeprefix('busy ')}" if busy else label
        )
    parts = [
        f"{why}: {', '.join(rows)}" if len(rows) <= 3 else f"{why}: {len(rows)} rows"
        for why, rows in by_reason.items()
    ]
    return "; ".join(parts) + " (-v: why)"


def _narrow_cell(value: object, field: str) -> str:
    """A median without its unit (the header has it): '10,694', '95%', '568.0 MB'."""
    if value is None or value != value:
        return ""
    unit = BY_FIELD[field].unit
    if unit == "samples/s":
        return f"{float(value):,.0f}"  # type: ignore[arg-type]
    if field == "accelerator_busy_share":
        return busy_percent(float(value))  # type: ignore[arg-type]
    if unit == "share":
        return f"{float(value):.0%}"  # type: ignore[arg-type]
    return BY_FIELD[field].format(value)  # type: ignore[arg-type]


def decision_marks(table) -> dict[int, str]:
    """Rows whose figures are in doubt enough to change what to do, with why in a few
    words: a run that waited for its memory to settle hit its cap first, busy crosses the
    90% line between repeats, the lowest peak among the strategies that pass is not
    settled, or a peak moves by more than the gate's tolerance. Ceilings are not marked."""
    marks: dict[int, str] = {}
    measured = table[table["role"] != "ceiling"]
    for index, row in measured.iterrows():
        busy = (row.get("spreads") or {}).get("accelerator_busy_share")
        if row.get("unsettled"):
            marks[index] = "memory still rising at --max-time"
        elif busy is not None and busy.count > 1 and busy.low < BUSY_LINE <= busy.high:
            marks[index] = f"busy {busy.low:.0%}-{busy.high:.0%} crosses {BUSY_LINE:.0%}"
    for index in _unsettled_ranking(measured):
        marks.setdefault(index, "lowest peak not settled")
    for index, row in measured.iterrows():
        peak = (row.get("spreads") or {}).get("peak_pss_bytes")
        if peak is not None and peak.count > 1 and peak.relative_range > GATE_MEMORY_TOLERANCE:
            marks.setdefault(index, f"peak past the gate's {GATE_MEMORY_TOLERANCE:.0%}")
    return marks


def _unsettled_ranking(measured) -> list[int]:
    """Iterating rows of the strategies that keep the accelerator busy whose peak ranges
    overlap the lowest one's: which is leanest depends on the repeat."""
    busy = measured[
        (measured["mode"] == "train") & (measured["accelerator_busy_share"] >= BUSY_LINE)
    ]["strategy"]
    rows = measured[(measured["mode"] == "iterate") & measured["strategy"].isin(set(busy))]
    rows = rows.dropna(subset=["memory_bytes"])
    if len(rows) < 2:
        return []
    ranges = {
        i: ((r.get("spreads") or {}).get("peak_pss_bytes"), r["memory_bytes"])
        for i, r in rows.iterrows()
    }
    lowest = rows["memory_bytes"].idxmin()
    low_spread, low_median = ranges[lowest]
    top = low_spread.high if low_spread is not None else low_median
    overlap = [
        i
        for i, (found, median) in ranges.items()
        if i != lowest and (found.low if found is not None else median) <= top
    ]
    return [lowest, *overlap] if overlap else []


def _reasons(table) -> list[str]:
    """Why each row's repeats differ ('unstable': a measurement in doubt; 'varies': each
    run measured right, the runs themselves differed)."""
    lines = []
    for _, row in table.iterrows():
        which = f"  {row['mode']} {row['strategy']}"
        if row["unstable"]:
            lines.append(f"{which} unstable: {'; '.join(row['unstable'])}")
        if row["varies"]:
            lines.append(f"{which} varies: {'; '.join(row['varies'])}")
    return lines


def wide_summary(written: list[Record]) -> str:
    """The measurements of one invocation, a line each: the median of their repeats with
    its spread, and why a measurement is unstable; columns nobody measured are left out."""
    table = summary(written)
    fields = [f for f in SUMMARY_FIELDS if table[f].notna().any() or f == "samples_per_s"]
    cells = [[with_spread(row, f, f in RANGED) for f in fields] for _, row in table.iterrows()]
    labels = [BY_FIELD[f].label for f in fields]
    widths = [max(len(label), *(len(c[i]) for c in cells)) for i, label in enumerate(labels)]
    # A preset's caches, or both normalisations: a column for each option that varies.
    varying = {
        name: values
        for name in VARIANT_OPTIONS
        if (values := table["options"].str.extract(rf"{name}=(\w+)")[0]).nunique() > 1
    }
    header = "".join(f"  {label:>{w}}" for label, w in zip(labels, widths, strict=True))
    variant_head = "".join(f"{name:<{VARIANT_WIDTH}}" for name in varying)
    named = max(16, *(len(str(n)) + 1 for n in table["strategy"]))  # a user's MODULE:FUNCTION
    lines = [
        "",
        f"{'mode':<8} {'strategy':<{named}} {variant_head}{'status':<11}{'runs':>5}{header}",
    ]
    flagged, varying_rows = [], []
    for (index, row), line in zip(table.iterrows(), cells, strict=True):
        body = "".join(f"  {c:>{w}}" for c, w in zip(line, widths, strict=True))
        variant = "".join(f"{values[index]!s:<{VARIANT_WIDTH}}" for values in varying.values())
        runs = f"{row['ok_runs']}/{row['runs']}"
        mark = " *" if row["unstable"] else " ~" if row["varies"] else ""
        name = f"{row['mode']:<8} {row['strategy']:<{named}} {variant}"
        lines.append(f"{name}{row['status']:<11}{runs:>5}{body}{mark}")
        which = f"{row['mode']} {row['strategy']}" + "".join(
            f" {option}={values[index]}" for option, values in varying.items()
        )
        if row["unstable"]:
            flagged.append(f"  {which}: {'; '.join(row['unstable'])}")
        if row["varies"]:
            varying_rows.append(f"  {which}: {'; '.join(row['varies'])}")
    lines.extend(_accelerators(table))
    lines.extend(_references(written))
    lines.extend(_pairing(written))
    lines.append(
        "Medians of the ok repeats (smallest-largest, CV: coefficient of variation); peak PSS "
        "counts pages shared between the run's processes once, peak RSS sums them per process."
    )
    if flagged:
        lines.append(f"* unstable ({UNSTABLE_HINT}):")
        lines.extend(flagged)
    if varying_rows:
        lines.append(f"~ varies between runs ({VARIES_HINT}):")
        lines.extend(varying_rows)
    return "\n".join(lines)
