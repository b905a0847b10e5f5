"""Pure functions of records: the summary table, the best value of each column, and the
"which strategy when" advice. No rendering here; tests call these with made-up records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from scipy import stats as scipy_stats

from loadbench.reports.load import frame
from loadbench.reports.metrics import BUSY_LINE, BY_FIELD, SUMMARY_FIELDS
from loadbench.reports.records import PROTOBUF_LIMIT_BYTES, Record
from loadbench.reports.stats import Spread, spread
from loadbench.reports.units import format_bytes

CLOSE = 0.05  # throughputs this close are a tie on a shared machine
GROUP = ["dataset", "split", "pairs", "image_size", "mode", "options", "strategy"]
# A measurement is flagged unstable when its repeats' throughput varies this much
# (coefficient of variation), or when their bytes differ by more than BYTES_SPREAD of
# the median (the largest less the smallest).
UNSTABLE_CV = 0.10
BYTES_SPREAD = 0.05
# Settled peaks of one pipeline still differ between runs (its own arenas and buffers):
# a further repeat is taken where two are more than this apart, the gate's tolerance.
AGAIN_APART = 0.10
CV_FIELDS = ("samples_per_s",)
BYTES_FIELDS = ("peak_pss_bytes", "peak_rss_bytes", "dataset_graph_bytes", "train_graph_bytes")
# A run's peak counts as still rising when the last third of its timeline reached this
# much above the rest (loadbench.reports.stats.late_rise): half the bytes threshold.
LATE_RISE = BYTES_SPREAD / 2
# A run's peaks count as seen when each process's sampled peak RSS came within this of
# the kernel's high-water mark of it (Record.kernel_agreement). Where every repeat's
# did, peaks that differ between repeats are the pipeline's own: each was measured
# right, the runs themselves held different amounts. They are told apart from a
# measurement in doubt: "varies", not "unstable".
KERNEL_AGREES = 0.95
PEAK_FIELDS = ("peak_pss_bytes", "peak_rss_bytes")
VARIES_HINT = (
    "each run was measured right and the runs themselves differed: a peak is the "
    "kernel's high-water mark of each process, and the pipeline's own memory varies from "
    "run to run (glibc's per-thread arenas, AUTOTUNE's buffers, which thread frees what): "
    "plan for the largest; a throughput's spread is one the machine's own speed, read "
    "between runs, explains: --repeats N steadies its median; accelerators fed that move "
    "between repeats: plan for the smallest"
)
# A throughput's repeats (CV of UNSTABLE_CV or more) are set against the machine's own
# speed, read before each run (Record.machine_speed): where an F-test of the two
# variances (relative to their means) does not find the repeats' larger at MACHINE_P,
# given at least MACHINE_READINGS readings, the spread is the machine's ("varies"), not
# the pipeline's. On the 2-core VM, a plain Python loop run as three 1 s repeats had a
# CV of 10% or more in 11 of 18 triples.
MACHINE_P = 0.05
MACHINE_READINGS = 10
# A training row's accelerators fed (an integer the search measures to one) varies
# where its repeats' answers are more than FED_APART apart: tensor_slices' were 4-23 in
# one run of 3 and 12-23 in another on the 2-core AMD VM, its AU falling a point or
# less per accelerator through the 90% line (0.925 at 12, 0.853 at 20 in one search).
FED_APART = 1
UNSTABLE_HINT = (
    "each reason says what moved; --min-time S measures each run longer, --repeats N "
    "takes more of them"
)
# Medians kept beside the summary's columns, for the report's sections.
ALSO_SUMMARIZED = (
    "compute_only_samples_per_s",
    "input_bound_share",
    "accelerator_step_s",
    "batch_bytes",
)


def _last(values: pd.Series) -> object:
    """The last value that is not missing, or None."""
    found = values.dropna()
    return found.iloc[-1] if len(found) else None


def unstable(
    spreads: dict[str, Spread],
    rises: list[float] | None = None,
    seen: bool = False,
    machine: Spread | None = None,
) -> list[str]:
    """Why a measurement's repeats disagree, one reason per figure; empty when they do not
    (or when there is a single repeat). ``rises``: each ok repeat's ``late_rise``; a
    peak that differs is then said to be still rising where some repeat's was, in those
    words: the process's heap was still growing (glibc's per-thread arenas fill for
    seconds: fixed_length's peak was 21-30% apart between repeats at 1 s, 4% at 12 s),
    so the peak depends on when the run ended, and a longer run reaches the plateau.
    ``seen``: every repeat's peaks were the kernel's (``KERNEL_AGREES``); the peaks'
    reasons are then not here but in ``varies``. ``machine``: the spread of the
    machine's own speed over the results (``machine_share``); a throughput it accounts
    for is in ``varies`` too."""
    fields = [f for f in BYTES_FIELDS if not (seen and f in PEAK_FIELDS)]
    return _cv_reasons(spreads, machine, explained=False) + _bytes_reasons(spreads, fields, rises)


def varies(
    spreads: dict[str, Spread],
    rises: list[float] | None = None,
    seen: bool = False,
    machine: Spread | None = None,
) -> list[str]:
    """What differs between repeats although each was measured right, one reason per
    figure: the peaks where every repeat's was seen as the kernel saw it (``seen``),
    the throughputs whose spread the machine's own speed accounts for (``machine``),
    and accelerators fed more than FED_APART apart (``_fed_reasons``)."""
    peaks = _bytes_reasons(spreads, PEAK_FIELDS, rises) if seen else []
    return _cv_reasons(spreads, machine, explained=True) + peaks + _fed_reasons(spreads)


def _fed_reasons(spreads: dict[str, Spread]) -> list[str]:
    """A reason where the repeats' accelerators fed are more than FED_APART apart: each
    search measured its answer (a count at the line, the next below it), and the runs
    held the line over different ranges."""
    found = spreads.get("accelerators_fed")
    if found is None or found.count < 2 or found.high - found.low <= FED_APART:
        return []
    return [
        f"accelerators fed {found.low:.0f}-{found.high:.0f} between repeats (more than "
        f"{FED_APART} apart): its AU falls slowly through the 90% line (each record's "
        "fed_trials), so a small change in how fast batches are handed over moves the "
        "count: plan for the smallest"
    ]


def _cv_reasons(spreads: dict[str, Spread], machine: Spread | None, explained: bool) -> list[str]:
    """A reason for each CV field of UNSTABLE_CV or more: those the machine's own speed
    explains (``machine_share``) where ``explained``, the others where not."""
    reasons = []
    for field in CV_FIELDS:
        found = spreads.get(field)
        if found is None or found.cv is None or found.cv < UNSTABLE_CV:
            continue
        p = machine_share(found, machine)
        if (p is not None) != explained:
            continue
        reason = f"{BY_FIELD[field].label} CV {found.cv:.0%} (>= {UNSTABLE_CV:.0%})"
        if p is not None and machine is not None and machine.cv is not None:
            reason += (
                f", not more than the machine's own speed explains (its CV {machine.cv:.0%} "
                f"over {machine.count} readings of a fixed loop between runs; F-test p = {p:.2f})"
            )
        reasons.append(reason)
    return reasons


def machine_share(found: Spread | None, machine: Spread | None) -> float | None:
    """The F-test's p-value that a figure's repeats vary no more than the machine's own
    speed did (their variances relative to their means, found's over machine's), where
    that is not rejected at MACHINE_P; None where it is, or where there are too few
    readings (MACHINE_READINGS) or repeats to say."""
    if found is None or found.cv is None or machine is None or machine.cv is None:
        return None
    if machine.count < MACHINE_READINGS or machine.cv == 0:
        return None
    ratio = (found.cv / machine.cv) ** 2
    p = float(scipy_stats.f.sf(ratio, found.count - 1, machine.count - 1))
    return p if p >= MACHINE_P else None


def _bytes_reasons(
    spreads: dict[str, Spread], fields: Iterable[str], rises: list[float] | None
) -> list[str]:
    """A reason for each of ``fields`` whose repeats are more than BYTES_SPREAD apart;
    the first peak among them says whether runs were still rising as they ended."""
    reasons = []
    rising = [r for r in rises or [] if r > LATE_RISE]
    said = False  # the rise is told once, with the first peak that differs
    for field in fields:
        found = spreads.get(field)
        if found and found.count > 1 and found.relative_range > BYTES_SPREAD:
            reason = (
                f"{BY_FIELD[field].label} differs {found.relative_range:.0%} between repeats "
                f"(> {BYTES_SPREAD:.0%})"
            )
            if rising and field in PEAK_FIELDS and not said:
                said = True
                reason += (
                    f", still rising as {len(rising)} of {len(rises or [])} runs ended (up "
                    f"{max(rising):.0%} in their last third): the pipeline's own heap grows "
                    "for seconds, so a longer --min-time reaches its steady peak"
                )
            reasons.append(reason)
    return reasons


def disagreement(records: list[Record]) -> list[str]:
    """Why the repeats of one measurement (``records``, all ok) disagree enough to change
    a decision, so that another is worth its time: their peak PSS more than AGAIN_APART
    apart (the gate's tolerance), their AU on both sides of the 90% line, their
    accelerators fed more than FED_APART apart; a ceiling's, its throughput's CV at
    UNSTABLE_CV or more (its rate is what it is for). Empty where they agree."""
    reasons = []
    if records and records[0].is_ceiling:
        rates = spread(r.throughput.samples_per_s for r in records)
        if rates and rates.cv is not None and rates.cv >= UNSTABLE_CV:
            reasons.append(f"samples/s CV {rates.cv:.0%}")
        return reasons
    peaks = spread(r.memory.peak_pss_bytes for r in records)
    if peaks and peaks.count > 1 and peaks.relative_range > AGAIN_APART:
        reasons.append(f"peak PSS {peaks.relative_range:.0%} apart")
    busy = spread(r.figure("accelerator_busy_share") for r in records)
    if busy and busy.count > 1 and busy.low < BUSY_LINE <= busy.high:
        reasons.append(f"AU {busy.low:.0%}-{busy.high:.0%}, both sides of the line")
    fed = spread(r.figure("accelerators_fed") for r in records)
    return reasons + _fed_reasons({"accelerators_fed": fed} if fed else {})


def with_spread(row: pd.Series | dict, field: str, ranged: bool = True) -> str:
    """The median of a summary row's figure with its range (and CV) over the repeats:
    '1,733 samples/s (1,650-1,801, CV 4%)', '204.1 MB (198.0-215.3)'; the bare median for
    a single repeat, or with ``ranged`` False."""
    metric = BY_FIELD[field]
    value = row.get(field)
    text = metric.format(None if value is None or value != value else value)
    found = (row.get("spreads") or {}).get(field)
    if not ranged or found is None or found.count < 2:
        return text
    low, high = metric.format(found.low), metric.format(found.high)
    unit = text.rpartition(" ")[2] if " " in text else ""
    if unit and low.endswith(f" {unit}") and high.endswith(f" {unit}"):
        low, high = low.removesuffix(f" {unit}"), high.removesuffix(f" {unit}")
    cv = f", CV {found.cv:.0%}" if field in CV_FIELDS and found.cv is not None else ""
    return f"{text} ({low}-{high}{cv})"


def median_and_range(row: pd.Series | dict, field: str) -> tuple[str, str]:
    """A summary row's figure as two texts, the median and its range over the ok repeats:
    ('1,733 samples/s', '(1,650-1,801, CV 4%)'); '' with fewer than two repeats, '(all 3
    equal)' where they agree. The HTML sets the range under the median."""
    text = with_spread(row, field, ranged=False)
    found = (row.get("spreads") or {}).get(field)
    if found is not None and found.count > 1 and found.low == found.high:
        return text, f"(all {found.count} equal)"
    return text, with_spread(row, field).removeprefix(text).strip()


def summary(records: list[Record]) -> pd.DataFrame:
    """One row per strategy, mode, dataset and options: the median of its ok runs (all of
    its runs when none is ok), with ``runs`` and ``ok_runs`` counts and the last error.

    ``spreads`` holds each figure's Spread over the ok repeats, ``unstable`` the reasons
    to doubt them, ``varies`` the figures that differ although each was measured right
    (peaks the kernel confirmed, throughputs the machine's own speed accounts for, over
    the ``machine_speed`` of every record from the row's machines); ``memory_bytes`` is
    the tree's PSS where it was measured, else its summed RSS, and ``memory_figure``
    says which ("PSS" or "RSS")."""
    df = frame(records)
    hosts = df["hostname"].fillna("")
    speeds = pd.to_numeric(df["machine_speed"], errors="coerce")
    rows = []
    for keys, group in df.groupby(GROUP, sort=False, dropna=False):
        ok = group[group["status"] == "ok"]
        used = ok if len(ok) else group
        failed = group[group["status"] != "ok"]
        row = dict(zip(GROUP, keys, strict=True))
        row.update(
            status="ok" if len(ok) else group["status"].iloc[-1],
            error=None if len(ok) else failed["error"].iloc[-1],
            role=group["role"].iloc[-1],
            runs=len(group),
            ok_runs=len(ok),
            graph_over_limit=bool(used["graph_over_limit"].fillna(False).any()),
            # a repeat that waited for its memory to settle and hit the cap first
            unsettled=bool((used["settled"] == False).any()),  # noqa: E712 (None: not asked)
            memray_flamegraph=next(
                (p for p in reversed(group["memray_flamegraph"].tolist()) if isinstance(p, str)),
                None,
            ),
            dataset_bytes=int(group["dataset_bytes"].iloc[0]),
            normalize=group["normalize"].iloc[-1],
            batch_size=group["batch_size"].iloc[-1],
            accelerator=_last(used["accelerator"]),
            accelerator_source=_last(used["accelerator_source"]),
            accelerators_fed_capped=bool(used["accelerators_fed_capped"].fillna(False).any()),
        )
        spreads = {}
        for field in (*SUMMARY_FIELDS, *ALSO_SUMMARIZED):
            values = pd.to_numeric(used[field], errors="coerce").dropna()
            row[field] = float(values.median()) if len(ok) and len(values) else None
            if len(ok) and (found := spread(values.tolist())):
                spreads[field] = found
        row["spreads"] = spreads
        rises = pd.to_numeric(ok["late_rise"], errors="coerce").dropna().tolist()
        agreements = pd.to_numeric(ok["kernel_agreement"], errors="coerce")
        seen = bool(len(ok)) and bool((agreements >= KERNEL_AGREES).all())
        # The readings of the machines this row ran on, not of another in the same report.
        machine = spread(speeds[hosts.isin(set(hosts[group.index]))].tolist())
        row["unstable"] = unstable(spreads, rises, seen, machine)
        row["varies"] = varies(spreads, rises, seen, machine)
        pss = row.get("peak_pss_bytes")
        row["memory_figure"] = "PSS" if pss is not None else "RSS"
        row["memory_bytes"] = pss if pss is not None else row.get("peak_rss_bytes")
        row["processes"] = (
            int(used["tree_processes"].max()) if used["tree_processes"].notna().any() else None
        )
        rows.append(row)
    return pd.DataFrame(rows)


def best(table: pd.DataFrame) -> dict[tuple[int, str], bool]:
    """(row index, field) -> True for the best ok value of a column within its mode,
    dataset and options; ties are all marked."""
    marks: dict[tuple[int, str], bool] = {}
    comparable = ["dataset", "split", "pairs", "image_size", "mode", "options"]
    measured = table[(table["status"] == "ok") & (table["role"] != "ceiling")]
    for _, group in measured.groupby(comparable, sort=False, dropna=False):
        for field in SUMMARY_FIELDS:
            values = pd.to_numeric(group[field], errors="coerce").dropna()
            if len(values) < 2 or values.nunique() == 1:
                continue  # nothing to choose between
            target = values.max() if BY_FIELD[field].better == "higher" else values.min()
            for index in values[values == target].index:
                marks[(index, field)] = True
    return marks


@dataclass(frozen=True)
class Advice:
    """One "which strategy when" line: a question and its answer, from the numbers."""

    question: str
    answer: str


def advice(table: pd.DataFrame, memory_budget_bytes: int | None = None) -> list[Advice]:
    """Lowest memory, fastest, fastest within a memory budget, and which graphs cannot be
    serialized, per mode. The default budget is twice the leanest strategy's peak."""
    out: list[Advice] = []
    for mode, group in table.groupby("mode", sort=False):
        ok = group[(group["status"] == "ok") & (group["role"] != "ceiling")]
        where = f"({mode})"
        if ok.empty:
            out.append(Advice(f"Any strategy {where}?", "no run ended ok"))
            continue
        memory = ok.dropna(subset=["memory_bytes"])
        speed = ok.dropna(subset=["samples_per_s"])
        if len(memory):
            lean = memory.loc[memory["memory_bytes"].idxmin()]
            out.append(Advice(f"Lowest memory {where}", f"{lean['strategy']}: {_memory(lean)}"))
        if len(speed):
            fast = speed.loc[speed["samples_per_s"].idxmax()]
            rate = BY_FIELD["samples_per_s"].format(fast["samples_per_s"])
            answer = f"{fast['strategy']}: {rate} at {_memory(fast)}"
            close = speed[
                (speed["samples_per_s"] >= (1 - CLOSE) * fast["samples_per_s"])
                & (speed.index != fast.name)
            ]
            if len(close):
                answer += f" ({', '.join(close['strategy'])} within {CLOSE:.0%} of it)"
            out.append(Advice(f"Fastest {where}", answer))
        if len(memory) and len(speed):
            budget = memory_budget_bytes or 2 * int(memory["memory_bytes"].min())
            label = "your budget" if memory_budget_bytes else "twice the lowest peak"
            within = speed[speed["memory_bytes"] <= budget]
            question = f"Fastest within {format_bytes(budget)} ({label}) {where}"
            if within.empty:
                out.append(Advice(question, "none"))
            else:
                pick = within.loc[within["samples_per_s"].idxmax()]
                rate = BY_FIELD["samples_per_s"].format(pick["samples_per_s"])
                answer = f"{pick['strategy']}: {rate} at {_memory(pick)}"
                out.append(Advice(question, answer))
    out.append(_serialization(table))
    return out


def _memory(row: pd.Series) -> str:
    """'204.0 MB peak PSS': a row's memory figure, saying which one it is."""
    return f"{format_bytes(row['memory_bytes'])} peak {row['memory_figure']}"


def _serialization(table: pd.DataFrame) -> Advice:
    question = "Which cannot serialize their dataset graph (2 GiB protobuf limit)?"
    over = sorted(set(table.loc[table["graph_over_limit"], "strategy"]))
    if over:
        return Advice(question, ", ".join(over))
    sized = table.dropna(subset=["dataset_graph_bytes"])
    if sized.empty:
        return Advice(question, "unknown: no run measured its graph")
    largest = sized.loc[sized["dataset_graph_bytes"].idxmax()]
    share = largest["dataset_graph_bytes"] / PROTOBUF_LIMIT_BYTES
    return Advice(
        question,
        f"none; the largest is {largest['strategy']} at "
        f"{format_bytes(largest['dataset_graph_bytes'])} ({share:.0%} of the limit, which it "
        f"would reach at about {format_bytes(largest['dataset_bytes'] / share)} of data)"
        if share > 0.01
        else f"none; the largest is {largest['strategy']} at "
        f"{format_bytes(largest['dataset_graph_bytes'])}",
    )
