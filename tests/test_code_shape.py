"""The shape of the code: no module over 400 lines, no import cycle among loadbench's
modules, the harness split by side (the child's side imports nothing of the parent's:
the import contracts in pyproject.toml hold the rest)."""

from __future__ import annotations

from pathlib import Path

import grimp
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

ROOT = Path(__file__).parents[1]
PACKAGES = ("benchmarks", "loaders", "reports", "loadbench")
MAX_LINES = 400


def test_no_module_is_over_400_lines():
    modules = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    assert len(modules) > 50
    long = {
        str(p.relative_to(ROOT)): n
        for p in modules
        if not p.is_symlink() and (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def cycles(imports: dict[str, set[str]]) -> list[set[str]]:
    """The groups of more than one module that import each other, directly or not (the
    graph's strongly connected components, from scipy)."""
    names = sorted(set(imports) | {m for found in imports.values() for m in found})
    at = {name: k for k, name in enumerate(names)}
    edges = [(at[a], at[b]) for a, found in imports.items() for b in found]
    rows, cols = zip(*edges, strict=True) if edges else ((), ())
    graph = csr_matrix((np.ones(len(edges)), (rows, cols)), shape=(len(names), len(names)))
    _, label = connected_components(graph, directed=True, connection="strong")
    groups: dict[int, set[str]] = {}
    for name, group in zip(names, label, strict=True):
        groups.setdefault(int(group), set()).add(name)
    return [g for g in groups.values() if len(g) > 1]


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_no_import_cycle():
    graph = grimp.build_graph("loadbench")
    imports = {
        m: {i for i in graph.find_modules_directly_imported_by(m) if i.startswith("loadbench")}
        for m in graph.modules
        if m.startswith("loadbench")
    }
    assert len(imports) > 50
    assert cycles(imports) == []
