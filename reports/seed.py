"""The seed preset's section: the article's pipeline first, then the variants loadbench
recommends, each measured on the same data, and the memory model's prediction for each
at the story's 20,000 pairs (shared/DESIGN.md).
"""

from __future__ import annotations

import base64
import bisect
import statistics

from loadbench.reports import memory_model as model
from loadbench.reports import scaling
from loadbench.reports.figures import FAILED_COLOR, MB, _png, plt
from loadbench.reports.metrics import BY_FIELD
from loadbench.reports.records import Record
from loadbench.reports.units import format_bytes

STORY_PAIRS = 20_000  # the article's dataset: 20,000 pairs of 256x256
# What each run's options make of its pipeline, in words (cache, where floats are made).
CACHES = {"memory": "in-memory .cache()", "file": "file .cache()", "none": "no cache"}


def label(record: Record) -> str:
    """A seed run in a few words: strategy, cache, and what the cache holds."""
    cache = str(record.options.get("cache"))
    floats = (record.memory.memory_profile or {}).get("sample_element_bytes", 1) > 1
    holds = " of float32" if floats and cache != "none" else ""
    made = ", floats made per sample" if floats else ""
    return f"{record.strategy}: {CACHES.get(cache, cache)}{holds}{made}"


def predicted_at(record: Record, pairs: int) -> model.Prediction | None:
    """The memory model's peak for ``record``'s pipeline on ``pairs`` pairs of the same
    image size, over as many whole epochs as the run took."""
    batch = int(record.options.get("batch_size", 1))
    per_epoch = -(-int(record.dataset["pairs"]) // batch)
    epochs = max(1, round((record.throughput.steps or 0) / per_epoch))
    scaled = record.updated(
        dataset={**record.dataset, "pairs": pairs}, steps=epochs * -(-pairs // batch)
    )
    return model.predict(scaled)


def _absolute(record: Record) -> int | None:
    if record.memory.baseline_rss_bytes is None or record.memory.peak_rss_bytes is None:
        return None
    return record.memory.baseline_rss_bytes + record.memory.peak_rss_bytes


def _median(values: list[int | float | None]) -> dict[str, str]:
    """The median of the known values and, apart, their range, in bytes: {'text': '784.0
    MB', 'spread': '(780.0 MB-790.0 MB)'}; '-' where none is known."""
    known = sorted(v for v in values if v is not None)
    if not known:
        return {"text": "-", "spread": ""}
    spread = f"({format_bytes(known[0])}-{format_bytes(known[-1])})" if len(known) > 1 else ""
    return {"text": format_bytes(statistics.median(known)), "spread": spread}


def _row(name: str, repeats: list[Record]) -> dict:
    """One run of the preset over its repeats: the medians of the ok ones, with ranges."""
    ok = [r for r in repeats if r.status == "ok"]
    rates = [r.throughput.samples_per_s for r in ok if r.throughput.samples_per_s]
    here = model.predict(ok[0]) if ok else None
    story = predicted_at(ok[0], STORY_PAIRS) if ok and ok[0].memory.memory_profile else None
    return {
        "run": name,
        "status": f"{len(ok)}/{len(repeats)} ok",
        "samples_per_s": BY_FIELD["samples_per_s"].format(statistics.median(rates))
        if rates
        else "-",
        "peak": _median([r.memory.peak_rss_bytes for r in ok]),
        "absolute": _median([_absolute(r) for r in ok]),
        "held": _median([scaling.held_after_first_epoch(r) for r in ok]),
        "predicted": "-" if here is None else format_bytes(here.peak_bytes),
        "story": "-" if story is None else format_bytes(story.peak_bytes),
        "story_terms": "" if story is None else model.largest_terms(story.terms, 2),
    }


def section(records: list[Record]) -> dict | None:
    """The section's figures, or None where no seed preset ran."""
    seed = [r for r in records if r.options.get("preset") == "seed"]
    if not seed:
        return None
    # The article's runs first, then the variants in the order they ran.
    seed.sort(key=lambda r: r.strategy != "article")
    runs: dict[str, list[Record]] = {}
    for r in seed:
        runs.setdefault(label(r), []).append(r)
    rows = [_row(name, repeats) for name, repeats in runs.items()]
    first = seed[0]
    pairing = next((r.pipeline.pairing for r in seed if r.pipeline.pairing), None)
    return {
        "png": base64.b64encode(timelines(seed)).decode("ascii"),
        "rows": rows,
        "dataset": f"{first.dataset.get('pairs'):,} pairs, "
        f"{format_bytes(first.dataset['pairs'] * first.dataset['bytes_per_sample'])} as uint8",
        "story_pairs": f"{STORY_PAIRS:,}",
        "size": "x".join(str(v) for v in reversed(first.dataset.get("image_size") or [])),
        "batch": first.options.get("batch_size"),
        "shuffle": first.options.get("shuffle_buffer"),
        "steps": first.options.get("steps"),
        "pairing": pairing,
        "unpaired": first.dataset.get("unpaired", []),
    }


def timelines(records: list[Record]) -> bytes:
    """The seed preset's memory over time, one line per run (the latest repeat of each)
    with a dot where each epoch ended, and the whole split (as uint8, and as float32
    where a run made floats) and the shuffle buffer as reference lines."""
    seed = [r for r in records if r.options.get("preset") == "seed" and r.memory.rss_timeline]
    figure, axis = plt.subplots(figsize=(9, 5.2))
    latest = {label(r): r for r in seed if r.status == "ok"}
    for name, record in latest.items():
        seconds = [point[0] for point in record.memory.rss_timeline]
        used = [point[1] / MB for point in record.memory.rss_timeline]
        (line,) = axis.plot(seconds, used, label=name, linewidth=1.4)
        ends = scaling.epoch_ends(record)
        at = [used[max(0, bisect.bisect_right(seconds, end) - 1)] for end in ends]
        axis.plot(ends, at, "o", color=line.get_color(), markersize=5)
    if latest:
        some = next(iter(latest.values()))
        sample = some.dataset["bytes_per_sample"]
        split = some.dataset["pairs"] * sample / MB
        shuffle = min(some.options.get("shuffle_buffer", 0), some.dataset["pairs"]) * sample / MB
        lines = [("whole split as uint8", split, FAILED_COLOR, "--")]
        if any((r.memory.memory_profile or {}).get("sample_element_bytes", 1) == 4 for r in seed):
            lines.append(("whole split as float32", 4 * split, FAILED_COLOR, "-."))
        lines.append(("shuffle buffer", shuffle, "#7f8c8d", ":"))
        for text, height, color, style in lines:
            axis.axhline(height, color=color, linestyle=style, linewidth=1)
            axis.text(
                1.0,
                height,
                f"{text}: {height:,.0f} MB ",
                color=color,
                fontsize=8,
                ha="right",
                va="bottom",
                transform=axis.get_yaxis_transform(),
            )
        axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    axis.set_xlabel("seconds since the pipeline was built (dots: where each epoch ended)")
    axis.set_ylabel("MB above baseline")
    axis.set_title("Seed pipeline: resident memory over its epochs", fontsize=10)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return _png(figure)
