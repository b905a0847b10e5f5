"""The answer a user came for, computed from records: which strategies keep the
accelerator at least 90% busy, the one among them with the lowest peak memory, and what
to avoid and why. A pure function of records; the terminal and the HTML only lay out
its lines."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from loadbench.reports.accelerator import display_name
from loadbench.reports.metrics import BUSY_LINE
from loadbench.reports.records import PROTOBUF_LIMIT_BYTES, Record
from loadbench.reports.summary import summary
from loadbench.reports.units import format_bytes

# A dataset graph or a held split this many times the dataset at hand is too far off
# to be worth a line: it is said only where it is reached within this factor.
NEAR_FACTOR = 1_000


def busy_percent(share: float) -> str:
    """A busy share as a whole percent; one just under the 90% line that would round up
    to it is cut to one decimal instead (0.8995 is 89.9%, not 90%)."""
    if share < BUSY_LINE and round(share * 100) >= BUSY_LINE * 100:
        return f"{math.floor(share * 1000) / 10:.1f}%"
    return f"{share:.0%}"


@dataclass(frozen=True)
class Verdict:
    """The verdict's lines: the headline, the strategies that pass, the pick, and what
    to avoid (each with its reason)."""

    headline: str
    passing: str
    pick: str
    avoid: tuple[str, ...]

    def lines(self) -> list[str]:
        return [self.headline, *(f"  {line}" for line in (self.passing, self.pick, *self.avoid))]


def verdict(records: list[Record]) -> Verdict | None:
    """The verdict of a run's records, or None where no strategy ran (ceilings alone, or
    nothing)."""
    measured = [r for r in records if r.role == "strategy"]
    if not measured:
        return None
    table = summary(measured)
    trained = table[(table["mode"] == "train") & table["accelerator_busy_share"].notna()]
    iterated = table[table["mode"] == "iterate"]
    memory = _memory_by_strategy(table)
    avoid = [*_starving(trained), *_graphs(iterated), *_holding(measured, iterated)]
    failed = table[table["status"] != "ok"]
    avoid += [
        f"avoid {row['strategy']} ({row['mode']}): {row['status']}: {_first(row['error'])}"
        for _, row in failed.iterrows()
    ]
    rising = table[table["unsettled"]]
    avoid += [  # not a strategy to avoid: a figure to read as a floor
        f"{row['strategy']} ({row['mode']}): its memory was still rising at --max-time: its "
        "peak is a floor, not its plateau"
        for _, row in rising.iterrows()
    ]
    headline = _headline(measured, trained)
    if trained.empty:
        return Verdict(
            headline=headline,
            passing="no training runs, so no accelerator to judge against: run with "
            "--mode both (the default) for which strategies keep it busy",
            pick=_leanest(memory, list(memory)),
            avoid=tuple(_unique(avoid)),
        )
    busy = trained[trained["accelerator_busy_share"] >= BUSY_LINE]
    names = list(dict.fromkeys(busy["strategy"]))
    total = trained["strategy"].nunique()
    if names:
        passing = (
            f"{len(names)} of {total} strategies keep it at least {BUSY_LINE:.0%} busy: "
            + ", ".join(names)
        )
        pick = _leanest(memory, names, trained)
    else:
        passing = f"none of {total} strategies keeps it {BUSY_LINE:.0%} busy"
        best = trained.loc[trained["accelerator_busy_share"].idxmax()]
        pick = (
            f"closest: {best['strategy']}, busy {busy_percent(best['accelerator_busy_share'])}; "
            "loadbench profile your own pipeline, or a slower accelerator (--accelerator)"
        )
    return Verdict(headline=headline, passing=passing, pick=pick, avoid=tuple(_unique(avoid)))


def _headline(measured: list[Record], trained: pd.DataFrame) -> str:
    data = measured[0].dataset
    env = measured[0].env
    pairs, size = data.get("pairs"), data.get("image_size")
    per_sample = data.get("bytes_per_sample")
    if pairs and size:
        what = f"{pairs:,} pairs of {size[1]}x{size[0]}"
        if per_sample:
            what += f" ({format_bytes(pairs * per_sample)})"
    else:
        what = str(data.get("pipeline") or data.get("root") or "the dataset")
    machine = f"{env.get('cpu_count') or '?'} CPUs, {format_bytes(env.get('ram_bytes'))} RAM"
    machine += f", {env['gpu']}" if env.get("gpu") else ", no GPU"
    against = ""
    if not trained.empty:
        name = (
            str(trained["accelerator"].dropna().iloc[-1])
            if trained["accelerator"].notna().any()
            else "?"
        )
        step = trained["accelerator_step_s"].dropna()
        against = f"; {'an emulated ' if _emulated(trained) else ''}{display_name(name)}"
        if len(step):
            against += f" ({step.median() * 1e3:.1f} ms a step)"
    return f"verdict: {what}; {machine}{against}"


def _emulated(trained: pd.DataFrame) -> bool:
    sources = trained["accelerator_source"].dropna()
    return bool(len(sources)) and str(sources.iloc[-1]) != "real"


def _memory_by_strategy(table: pd.DataFrame) -> dict[str, pd.Series]:
    """Each strategy's summary row whose peak memory stands for it: iterating where it was
    measured (the loader's own), else training."""
    found: dict[str, pd.Series] = {}
    for mode in ("train", "iterate"):  # iterate last: it wins
        ok = table[(table["mode"] == mode) & (table["status"] == "ok")]
        for _, row in ok.dropna(subset=["memory_bytes"]).iterrows():
            found[row["strategy"]] = row
    return found


def _leanest(
    memory: dict[str, pd.Series], names: list[str], trained: pd.DataFrame | None = None
) -> str:
    """The pick: the lowest peak among ``names``, with the largest of its repeats to plan
    with (settled peaks of one pipeline still differ) and, trained, how busy it keeps
    the accelerator and how many it feeds."""
    known = {name: row for name, row in memory.items() if name in names}
    if not known:
        return "no peak memory measured among them"
    name = min(known, key=lambda found: float(known[found]["memory_bytes"]))
    lean = known[name]
    said = f"use {name}: the lowest peak memory among them, {format_bytes(lean['memory_bytes'])}"
    spreads = lean.get("spreads") or {}
    peak = spreads.get("peak_pss_bytes") or spreads.get("peak_rss_bytes")
    if peak is not None and peak.count > 1:
        said += f", at most {format_bytes(peak.high)} in {peak.count} runs"
    if trained is not None:
        row = trained[trained["strategy"] == name].iloc[0]
        spreads = row.get("spreads") or {}
        said += f" (busy {busy_percent(row['accelerator_busy_share'])}"
        fed, fed_spread = row.get("accelerators_fed"), spreads.get("accelerators_fed")
        if fed_spread is not None and fed_spread.count > 1 and fed_spread.low != fed_spread.high:
            said += f", feeds {fed_spread.low:.0f}-{fed_spread.high:.0f} such accelerators"
        elif fed is not None and fed == fed:
            said += f", feeds {fed:.0f} such accelerator{'' if fed == 1 else 's'}"
        busy = spreads.get("accelerator_busy_share")
        if busy is not None and busy.count > 1 and busy.low < BUSY_LINE:
            said += f"; {busy_percent(busy.low)} in its worst repeat"
        said += ")"
    return said


def _starving(trained: pd.DataFrame) -> list[str]:
    low = trained[trained["accelerator_busy_share"] < BUSY_LINE]
    low = low.sort_values("accelerator_busy_share")
    return [
        f"avoid {row['strategy']}: starves it, busy {busy_percent(row['accelerator_busy_share'])}"
        for _, row in low.iterrows()
    ]


def _graphs(iterated: pd.DataFrame) -> list[str]:
    """Strategies whose dataset graph holds the data: where it passes 2 GiB."""
    lines = []
    for _, row in iterated.dropna(subset=["dataset_graph_bytes"]).iterrows():
        graph, pairs = float(row["dataset_graph_bytes"]), row.get("pairs")
        if row.get("graph_over_limit"):
            lines.append(f"avoid {row['strategy']}: its dataset graph passes 2 GiB already")
            continue
        if not pairs or graph <= 0:
            continue
        at = PROTOBUF_LIMIT_BYTES / graph * float(pairs)
        if at <= pairs * NEAR_FACTOR and graph > 0.01 * PROTOBUF_LIMIT_BYTES:
            lines.append(
                f"avoid {row['strategy']} for more data: its graph holds the data "
                f"({format_bytes(graph)} here), past 2 GiB at about {_round(at)} pairs"
            )
    return lines


def _holding(measured: list[Record], iterated: pd.DataFrame) -> list[str]:
    """Strategies (or options) that hold the split in memory: where their peak, growing
    with the data, fills this machine's RAM."""
    lines = []
    holds = {
        r.strategy
        for r in measured
        if r.mode == "iterate"
        and (
            (r.memory.memory_profile or {}).get("split_copies")
            or r.options.get("cache") == "memory"
        )
    }
    ram = max((r.env.get("ram_bytes") or 0 for r in measured), default=0)
    for _, row in iterated[iterated["strategy"].isin(holds)].iterrows():
        peak, pairs = row.get("memory_bytes"), row.get("pairs")
        if not ram or not pairs or peak is None or peak != peak or peak <= 0:
            continue
        at = ram / float(peak) * float(pairs)
        what = (
            "an in-memory cache" if "cache=memory" in str(row["options"]) else "it holds the split"
        )
        lines.append(
            f"avoid {row['strategy']} for more data: {what} ({format_bytes(peak)} here); "
            f"{format_bytes(ram)} of RAM full at about {_round(at)} pairs"
        )
    return lines


def _round(pairs: float) -> str:
    """About N pairs, to two significant figures: 4,700, 68,000."""
    if pairs < 100:
        return f"{pairs:,.0f}"
    digits = len(str(int(pairs))) - 2
    return f"{round(pairs, -digits):,.0f}"


def _first(error: object) -> str:
    return str(error or "").strip().splitlines()[0][:100] if error else "no error recorded"


def _unique(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(lines))
