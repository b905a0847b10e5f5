"""The record's fields, each described once: ``loadbench schema`` renders this with the
record type into docs/schema.md (a test checks that page is current). A field added to
the record and not described here fails that test."""

from __future__ import annotations

from dataclasses import fields

from loadbench.reports.metrics import BY_FIELD
from loadbench.reports.records import SCHEMA, SECTIONS, Record

INTRO = (
    "One JSON object per run is appended to `OUT/results.jsonl` (and fsynced) the moment "
    "the run ends, so a suite killed halfway keeps every finished run. A reader that "
    "meets a torn last line (a write cut short by a kill or a full disk) skips it with a "
    "warning naming the file and line and keeps every earlier record; any other bad line "
    "is an error naming the file and line (exit 2), and a record from a newer loadbench "
    "(a higher `schema`) is refused with a message that says so."
)

# (field names described together, their meaning)
DESCRIBED: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("schema",),
        (
            "record format version (9: the figures in sections, each present only where it "
            "was measured; a field added to a section needs no new version. Files of versions "
            "1 to 8 are read too, as version 9 has them: their newer fields null, a ceiling "
            "known by its name, a train run's width equal to the machine's default read as "
            "left to the machine, `options.normalize` "
            "`host` (every pipeline made floats then) and a train run's step the real one on its "
            "machine's device, and a `ceiling_copy` record of version 4 or older read as "
            "`ceiling_copy_aliased`: TensorFlow aliased its arrays and it copied nothing, so no "
            "strategy is read against it)"
        ),
    ),
    (
        ("fed_search_peak_rss_bytes",),
        "training: the tree's peak RSS above its baseline through the accelerators-fed "
        "search too, the pipeline at several accelerators' demand (the `peak_` fields are "
        "the loop's, at one accelerator's; records without this field held the search's)",
    ),
    (
        ("settled", "settle_s", "settled_peak_rss_bytes"),
        (
            "where the run was asked to wait for its memory to settle (`--max-time`): "
            "whether the tree's peak grew under 1% (or 2 MB) over the window (8 s; tune's "
            "and diagnose's 2 s) and 10 batches, after an epoch where the pipeline caches, "
            "before the cap; the measured batches' span by then; the tree's peak RSS above "
            "its baseline then (null: not asked)"
        ),
    ),
    (
        ("unknown",),
        (
            "fields a newer loadbench wrote that this one does not know, kept as read and "
            "written back (said once, as a warning, when read); in the file they sit beside "
            "the known ones, at the top or in their section"
        ),
    ),
    (
        ("role",),
        "`strategy`, or `ceiling` for one of the machine's two ceilings",
    ),
    (
        ("repeat",),
        "which repeat of its measurement this run was, from 0",
    ),
    (
        ("strategy", "mode"),
        ("strategy name; `iterate` (input pipeline alone) or `train` (through the training step)"),
    ),
    (
        ("status",),
        (
            "`ok`, `error` (an exception: `error` has its type and message), `crashed` (a signal "
            "such as SIGABRT, with the run's last output line), `killed` (SIGKILL, most likely "
            "the out-of-memory killer), `timeout`, `over_budget` (passed `--kill-above`)"
        ),
    ),
    (
        ("error",),
        "why a run did not end `ok`; null when it did",
    ),
    (
        ("dataset",),
        (
            "`root` (a path, or `synthetic`), `split`, `pairs`, `image_size` [height, width], "
            "`bytes_per_sample` (uint8), and for a seed preset run on a split whose folders do "
            "not pair fully, `unpaired`: the files left out (`folder/file`); for your own "
            "pipeline (`profile`) `root` `pipeline`, `pipeline` (its MODULE:FUNCTION) and "
            "`kwargs`, the others null; for the Keras callback's epochs `root` `fit` and "
            "`pipeline` (its name)"
        ),
    ),
    (
        ("options",),
        (
            "`batch_size`, `shuffle_buffer`, `seed`, `cache`, `prefetch` and `parallelism` (-1 = "
            "AUTOTUNE), `deterministic`, `drop_remainder`, `use_multiprocessing`, `steps`, "
            "`warmup_steps`, `min_measured_s` (the time floor, when there is one), `normalize` "
            "(`device` or `host`), in train mode the `width` of the model asked for (null: the "
            "machine's default) and the `accelerator` asked for (a table name, a profile's name, "
            "`cpu`, `gpu`, `step-time` with `step_time_s`; null: the machine's default), "
            "`service` and `processing_mode` for a run through the tf.data service, and `preset` "
            "(`seed`) for a preset's runs; for `profile`: `kwargs`, `batch` (null: the elements "
            "are batches), `steps`, `warmup_steps`, `min_measured_s`, `model` or `accelerator` "
            "with `step_time_s`; for the callback: `steps_per_execution`. Together with "
            "`strategy`, `mode` and the dataset, a run's one identity"
        ),
    ),
    (
        ("width",),
        (
            "the model width a training run ran with, or stood for (the real step: 16 on a GPU "
            "and 4 on a CPU unless asked; an emulated accelerator: its profile's width, 16 in the "
            "table; null with `--step-time`); null iterating"
        ),
    ),
    (
        ("steps",),
        (
            "measured steps taken: `options.steps`, or more where `options.min_measured_s` (a "
            "time floor, `--min-time`) asked the measured batches to span that many seconds"
        ),
    ),
    (
        ("first_batch_s",),
        ("from building the pipeline to the first batch in hand (and trained on, in train mode)"),
    ),
    (
        ("step_p50_s", "step_p95_s"),
        "median and 95th percentile of the measured steps' times",
    ),
    (
        ("baseline_rss_bytes", "baseline_pss_bytes"),
        (
            "resident memory (summed RSS) and proportional set size (summed PSS) of the child's "
            "process tree before the loop"
        ),
    ),
    (
        ("peak_rss_bytes",),
        (
            "the tree's peak summed RSS above that baseline (sampled every 50 ms, backed by the "
            "kernel's exact high-water mark of the child itself); a page shared by several "
            "processes counts in each"
        ),
    ),
    (
        ("peak_pss_bytes",),
        (
            "the tree's peak summed PSS above its baseline: shared pages count once; null where "
            "PSS cannot be read"
        ),
    ),
    (
        ("tree_processes",),
        "the most processes the tree had at once",
    ),
    (
        ("own_peak_rss_bytes",),
        (
            "the child process alone (not its workers), its RSS peak above its own RSS at the "
            "baseline over the loop, the graph's serialization and a ceiling's numpy reference "
            "copy: added to that RSS (`baseline_rss_bytes` where no worker is running yet at the "
            "baseline), the figure GNU time's maximum RSS gives for that process"
        ),
    ),
    (
        ("process_peaks",),
        (
            "each process of the tree but the child itself: `pid`, `name`, its own "
            "`peak_rss_bytes` and `peak_pss_bytes` (absolute, not above a baseline)"
        ),
    ),
    (
        ("kernel_agreement",),
        (
            "the smallest ratio, over the tree's processes, of a process's sampled peak RSS to "
            "the kernel's high-water mark of it (VmHWM, read as the loop ended, the tree still "
            "running); 1.0 when every peak was seen (a one-process tree's peak is that mark "
            "itself); null where a process had gone before it could be read (schema 7)"
        ),
    ),
    (
        ("input_wait_s", "compute_s", "input_bound_share"),
        (
            "train mode: seconds waiting for batches, seconds in the training step (measured "
            "steps), and wait / (wait + compute); null when iterating"
        ),
    ),
    (
        ("compute_only_samples_per_s",),
        "train mode, real step: the training step alone, on one batch held in memory",
    ),
    (
        ("accelerator", "accelerator_source"),
        (
            "train mode: what the step stood for (`cpu`, `gpu`: the real step; `h100`, `a100`, "
            "`t4`, a profile's name, `step-time`: emulated) and where its step time came from "
            "(`real`, `measured`, `derived`, `given`)"
        ),
    ),
    (
        ("accelerator_step_s",),
        "train mode: seconds per batch of the emulated step, or the real step's median",
    ),
    (
        ("accelerator_busy_share",),
        (
            "train mode: accelerator utilisation (AU), the step's time over the wall time of the "
            "measured steps (waits for input and steps)"
        ),
    ),
    (
        ("accelerators_fed", "accelerators_fed_capped"),
        (
            "train mode: the most accelerators of that step time the pipeline keeps at AU >= 90% "
            '(0: not even one), measured; capped: the search\'s limit (128) passed, so "at least"'
        ),
    ),
    (
        ("fed_trials",),
        (
            "train mode: every count the search measured, in order, as [accelerators, AU, "
            "batches, seconds, AU's 95% half-width]; the first is the run's own loop"
        ),
    ),
    (
        ("reference_samples_per_s",),
        (
            "`ceiling_copy` only: numpy copying the same held batches once (`copyto` on as many "
            "threads as the ceiling's map, into buffers already touched), timed in the same child "
            "after the loop, the outside instrument the ceiling is checked against"
        ),
    ),
    (
        ("element_spec",),
        (
            "your own pipeline (`profile`) only: its element structure as TensorFlow states it "
            "(`Dataset.element_spec`, after `--batch-size`)"
        ),
    ),
    (
        ("pairing",),
        (
            "the seed preset's `article` only (null otherwise): how its `zip(sorted(...))` paired "
            "the files: `rule`, `triples`, `mispaired` (triples whose three names differ), "
            "`first_mispaired` (up to 10, as file names) and `dropped` (files past the shortest "
            "folder's end, as `folder/file`)"
        ),
    ),
    (
        ("ceiling",),
        (
            "which ceiling applies to the strategy (`ceiling_decode` or `ceiling_copy`); its "
            "fraction of that ceiling is not stored: `report` computes it from the ceiling's own "
            "records on the same split (their median)"
        ),
    ),
    (
        ("memray_peak_bytes", "memray_flamegraph"),
        (
            "with `--memray`: memray's peak heap (of the main process; memray counts a whole "
            "memory-mapped file) from a separate tracked run, and the absolute path of its flame "
            "graph HTML"
        ),
    ),
    (
        ("gpu_peak_bytes",),
        "peak of `GPU:0` after a reset; null (not 0) without a GPU",
    ),
    (
        ("dataset_graph_bytes",),
        "size of the dataset's serialized graph (arrays captured in it count)",
    ),
    (
        ("graph_over_limit",),
        (
            "true when that graph passes the 2 GiB protobuf limit; `dataset_graph_bytes` is then "
            "an estimate from the dataset's bytes, never 0"
        ),
    ),
    (
        ("rss_timeline",),
        "[[seconds since the loop began, bytes above baseline], ...], at most 400 points",
    ),
    (
        ("batch_ends_s",),
        (
            "seconds since the loop began at which each batch (warm-up included) was in hand, "
            "the first 20,000: where each epoch ended"
        ),
    ),
    (
        ("target", "network", "client_peak_rss_bytes", "worker_peak_rss_bytes"),
        (
            "through the tf.data service: the dispatcher's address and the run's network; the "
            "peak of the process that iterates or trains, and of each worker above its idle "
            'memory (see "Through the tf.data service")'
        ),
    ),
    (
        ("memory_profile",),
        (
            "what the strategy declared it holds itself (`split_copies`, `mapped_split`, "
            "`staged_batches`, `worker_processes`, `why`), read by the memory model; null for a "
            "strategy that declares nothing"
        ),
    ),
    (
        ("env",),
        (
            "`tensorflow`, `loadbench` and `python` versions, `cpu_count`, `cpu_model`, "
            "`ram_bytes`, `gpu` (name or null), `commit` (or null), `hostname`"
        ),
    ),
    (
        ("started_at", "wall_s"),
        "UTC start time and the run's wall time, child start-up included",
    ),
    (
        ("machine_speed",),
        (
            "the machine's own speed, read by the parent just before the run's child started: "
            "units per second of a fixed pure-Python loop run for 20 ms "
            "(`benchmarks/harness/parent/speed.py`); the spread of every record's reading is "
            "what a throughput's spread is set against (schema 8)"
        ),
    ),
    (
        ("log",),
        "the run's output log (absolute path)",
    ),
    (
        ("command",),
        "the command line that produced the record",
    ),
)


def described() -> dict[str, str]:
    """Field name -> its description: from ``DESCRIBED``, else (a metric added since) from
    its entry in the metric table."""
    docs = {name: doc for names, doc in DESCRIBED for name in names}
    return {
        **docs,
        **{name: m.covers for name, m in BY_FIELD.items() if m.covers and not m.derived},
    }


def render() -> str:
    """docs/schema.md: the run's own fields, then each section's, in the order the record
    declares them, each with its type, its unit and direction where it is a metric, and
    its meaning (a metric's is its entry's in ``loadbench.reports.metrics``)."""
    docs = described()
    missing = [name for name in declared() if name not in docs]
    if missing:
        raise KeyError(f"record fields with no description in reports/schema.py: {missing}")
    lines = [
        "# Records",
        "",
        "<!-- Generated by `loadbench schema > docs/schema.md` from the record type "
        "(loadbench.reports.records.Record) and reports/schema.py; do not edit. -->",
        "",
        INTRO,
        "",
        f"Schema version {SCHEMA}. A record is the run's own fields, then its figures in "
        "sections, each present only where it was measured (a section absent from a record "
        "reads as all its fields null):",
        "",
        '```json\n{"schema": 9, "strategy": "memmap", "mode": "train", "status": "ok", ...,\n'
        ' "throughput": {"samples_per_s": 619.0, ...}, "memory": {"peak_pss_bytes": ...},\n'
        ' "graph": {...}, "training": {"accelerator_busy_share": 0.95, ...}}\n```',
        "",
        "## The run",
        "",
        *_table([f for f in fields(Record) if f.name not in SECTIONS], docs),
    ]
    for name, kind in SECTIONS.items():
        lines += ["", f"## `{name}`", "", " ".join((kind.__doc__ or "").split()), ""]
        lines += _table([f for f in fields(kind) if f.name != "unknown"], docs)
    return "\n".join(lines) + "\n"


def _table(found: list, docs: dict[str, str]) -> list[str]:
    lines = ["| field | type | unit | meaning |", "| --- | --- | --- | --- |"]
    for field in found:
        metric = BY_FIELD.get(field.name)
        unit = f"{metric.unit}, {metric.better} is better" if metric else ""
        kind = str(field.type).replace("|", "or")
        lines.append(f"| `{field.name}` | {kind} | {unit} | {docs[field.name]} |")
    return lines


def declared() -> list[str]:
    """Every field a record can carry: its own, then each section's."""
    own = [f.name for f in fields(Record) if f.name not in SECTIONS]
    return own + [f.name for kind in SECTIONS.values() for f in fields(kind) if f.name != "unknown"]
