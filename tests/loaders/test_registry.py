"""The registry: built-ins, ``module:Name`` references and ``loadbench.loaders`` entry
points, with clear errors for duplicates and broken plug-ins."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadbench.loaders import registry
from loadbench.loaders.errors import StrategyError


def install_entry_points(site: Path, monkeypatch, lines: str, dist: str = "userplug") -> None:
    """Make a distribution visible to importlib.metadata, as pip would."""
    info = site / f"{dist}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{lines}\n")
    monkeypatch.syspath_prepend(str(site))


def test_builtins_are_listed_without_importing_tensorflow():
    assert registry.names()[:8] == [
        "tensor_slices",
        "generator",
        "sequence",
        "files",
        "tfrecord",
        "tfrecord_png",
        "memmap",
        "fixed_length",
    ]


def test_module_reference_creates_an_outside_strategy():
    strategy = registry.create("outside_strategy:IndexedReader")
    assert strategy.name == "indexed_reader"


def test_entry_point_is_listed_and_created(tmp_path, monkeypatch):
    install_entry_points(tmp_path, monkeypatch, "plugged = outside_strategy:IndexedReader")
    table = registry.registrations()
    assert table["plugged"].origin == "entry point of userplug"
    assert registry.create("plugged").name == "indexed_reader"


def test_duplicate_name_names_both_places(tmp_path, monkeypatch):
    install_entry_points(tmp_path, monkeypatch, "memmap = outside_strategy:IndexedReader")
    with pytest.raises(StrategyError) as info:
        registry.names()
    message = str(info.value)
    assert "'memmap' is registered twice" in message
    assert "loadbench.loaders.strategies.memmap:Memmap (built-in)" in message
    assert "outside_strategy:IndexedReader (entry point of userplug)" in message


def test_entry_point_that_fails_to_import_is_named(tmp_path, monkeypatch):
    install_entry_points(tmp_path, monkeypatch, "ghost = no_such_module_xyz:Thing")
    with pytest.raises(
        StrategyError,
        match=r"'ghost' \(entry point of userplug\) cannot be "
        r"loaded from no_such_module_xyz:Thing",
    ):
        registry.create("ghost")


def test_unknown_name_lists_the_registered_ones():
    with pytest.raises(StrategyError, match="unknown strategy 'nope'; registered: tensor_slices"):
        registry.create("nope")


def test_object_without_the_protocol_is_refused():
    with pytest.raises(StrategyError, match="is not a strategy"):
        registry.create("outside_strategy:NotAStrategy")
