"""Records to JSON and back: one object per record, its figures in sections, each section
written only where it was measured; any schema this loadbench reads, upgraded on the way.

Schema versions (``schema``, bumped on any change of meaning):
1. the first records;
2. adds repeats, PSS, the input-bound share and the ceilings;
3. adds ``role`` and ``width``; ``options["width"]`` is the width asked for (None: the
   machine's default) so that a run has one identity; ``ceiling_fraction`` is no longer
   stored;
4. adds ``options["normalize"]`` (where pixels become floats), ``batch_bytes`` and, in
   training, the accelerator the step stood for (``options["accelerator"]`` asked for,
   None: the machine's default) with its busy share and ``accelerators_fed``;
5. ``ceiling_copy`` copies each batch (before, TensorFlow aliased its aligned arrays and
   nothing was copied: such a record is read as ``ceiling_copy_aliased``, so no strategy
   is read against it); adds ``reference_samples_per_s``;
6. adds a user's own pipelines (``loadbench profile``: ``dataset["pipeline"]`` names the
   function, ``strategy`` is it too) and the Keras callback's epochs of a real ``fit``
   (mode ``fit``), with ``element_spec``;
7. adds ``graph_serialize_peak_bytes`` and ``kernel_agreement``;
8. adds ``machine_speed``;
9. the figures move into sections (``{"throughput": {...}, "memory": {...}}``), each
   written only where it was measured; the service's ``{"target", "network"}`` become
   fields of its section. From 9 on a new field needs no new schema: a reader keeps the
   fields it does not know, as read, and says so once. The number moves only for a change
   that breaks readers.
Files of schema 1 to 8 are read by ``upgrade`` (to 8's flat fields), then ``nested``.
"""

from __future__ import annotations

import logging
from dataclasses import fields
from typing import Any

from loadbench.loaders.errors import RecordError
from loadbench.reports.records import (
    ALIASED_COPY_CEILING,
    DEFAULT_WIDTH,
    LEGACY_CEILINGS,
    SCHEMA,
    SECTIONS,
    Record,
    Section,
    grouped,
)

log = logging.getLogger("loadbench")
IDENTITY = frozenset(f.name for f in fields(Record)) - set(SECTIONS) - {"unknown"}


def to_json(record: Record) -> dict[str, Any]:
    """The record as one JSON object: its identity, then each measured section (fields at
    their defaults left out), then what it kept of fields it did not know."""
    data: dict[str, Any] = {name: getattr(record, name) for name in sorted(IDENTITY)}
    for name in SECTIONS:
        section = getattr(record, name)
        if section:
            data[name] = _section_json(section)
    data.update(record.unknown)
    return data


def _section_json(section: Section) -> dict[str, Any]:
    found = {
        f.name: getattr(section, f.name)
        for f in fields(section)
        if f.name != "unknown" and getattr(section, f.name) not in (None, [], {})
    }
    return {**found, **section.unknown}


def from_json(data: dict[str, Any], where: str, unknown: set[str] | None = None) -> Record:
    """A record from one JSON object of schema 1 to 9 (checked by the caller). Fields this
    loadbench does not know are kept in the record; their names go into ``unknown`` for
    the caller to say once (without it, they are said here)."""
    if data.get("schema") != SCHEMA:
        data = nested(upgrade(data))
    own: dict[str, Any] = {}
    kept: dict[str, Any] = {}
    names: set[str] = set()
    for name, value in data.items():
        if name in SECTIONS:
            own[name] = _section(name, value, where, names)
        elif name in IDENTITY:
            own[name] = value
        else:
            kept[name] = value
            names.add(name)
    if unknown is None:
        say_unknown(names, where)
    else:
        unknown.update(names)
    try:
        return Record(**own, unknown=kept)
    except TypeError as exc:
        raise RecordError(f"{where}: {exc}") from exc


def _section(name: str, value: Any, where: str, names: set[str]) -> Section:
    if not isinstance(value, dict):
        raise RecordError(f"{where}: {name!r} is not an object")
    kind = SECTIONS[name]
    known = {f.name for f in fields(kind)} - {"unknown"}
    kept = {k: v for k, v in value.items() if k not in known}
    names.update(f"{name}.{k}" for k in kept)
    try:
        return kind(**{k: v for k, v in value.items() if k in known}, unknown=kept)
    except TypeError as exc:
        raise RecordError(f"{where}: {name}: {exc}") from exc


def say_unknown(names: set[str], where: str) -> None:
    """One warning for the fields a newer loadbench wrote that this one does not know."""
    if names:
        log.warning(
            "%s: fields this loadbench does not know (a newer one wrote them), kept as read: %s",
            where,
            ", ".join(sorted(names)),
        )


def nested(flat: dict[str, Any]) -> dict[str, Any]:
    """A schema-8 record's flat fields in schema 9's sections."""
    service = flat.get("service") or {}  # {"target", "network"}, or None
    data, sections = grouped({k: v for k, v in flat.items() if k != "service"})
    sections.setdefault("service", {}).update(service)
    return {**data, **sections, "schema": SCHEMA}


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """A record of schema 1 to 7 with the flat fields schema 8 has."""
    if data.get("schema") == 8:
        return data
    data = dict(data)
    if data.get("schema") in (5, 6, 7):  # schemas 6 to 8 only add fields
        data["schema"] = 8
        return data
    if data.get("schema") in (1, 2):
        data = _from_schema_2(data)
    # Before schema 4 every pipeline converted to float32 on the host, and training ran
    # the real step on the machine's device: asked for by name where that was the CPU
    # (a CPU machine's default now emulates an accelerator), left to it on a GPU.
    options = dict(data.get("options") or {})
    options.setdefault("normalize", "host")
    if data.get("mode") == "train":
        gpu = bool((data.get("env") or {}).get("gpu"))
        options.setdefault("accelerator", None if gpu else "cpu")
        data.setdefault("accelerator", "gpu" if gpu else "cpu")
        data.setdefault("accelerator_source", "real")
        wait, compute = data.get("input_wait_s"), data.get("compute_s")
        if wait is not None and compute and wait + compute > 0:
            data.setdefault("accelerator_busy_share", compute / (wait + compute))
    data["options"] = options
    if data.get("strategy") == "ceiling_copy":
        data["strategy"] = ALIASED_COPY_CEILING
    data["schema"] = 8
    return data


def _from_schema_2(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 and 2 records name no role: a ceiling is known by its name. Their train
    options hold the width the run used; a width equal to the machine's default (by the
    record's GPU) is read as left to the machine, any other as asked for. A stored
    ceiling fraction is dropped: readers compute it from the ceilings' own records."""
    data.pop("ceiling_fraction", None)
    data["role"] = "ceiling" if data.get("strategy") in LEGACY_CEILINGS else "strategy"
    options = dict(data.get("options") or {})
    if "width" in options:
        used = options["width"]
        data["width"] = used
        default = DEFAULT_WIDTH["gpu" if (data.get("env") or {}).get("gpu") else "cpu"]
        options["width"] = None if used in (None, default) else used
    data["options"] = options
    return data
