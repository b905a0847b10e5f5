"""``loadbench data synth``: determinism, splits, atomic writes and resuming."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from loadbench.loaders.dataset.layout import describe, list_splits
from loadbench.loaders.dataset.synth import (
    SynthParams,
    parse_splits,
    split_counts,
    synthesize,
    write_pair,
)
from loadbench.loaders.errors import OptionsError


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.png"))
    }


def test_same_seed_same_bytes_whatever_the_worker_count(tmp_path):
    params = SynthParams(pairs=20, size=32, splits={"train": 0.5, "val": 0.5}, seed=4)
    synthesize(tmp_path / "one", params, workers=1)
    synthesize(tmp_path / "two", params, workers=2)
    one, two = digest_tree(tmp_path / "one"), digest_tree(tmp_path / "two")
    assert len(one) == 60
    assert one == two
    other = SynthParams(pairs=20, size=32, splits={"train": 0.5, "val": 0.5}, seed=5)
    synthesize(tmp_path / "three", other, workers=1)
    assert digest_tree(tmp_path / "three") != one


def test_layout_and_split_counts(tmp_path):
    params = SynthParams(pairs=11, size=32, splits=parse_splits("train=0.8,val=0.1,test=0.1"))
    counts = synthesize(tmp_path, params, workers=1)
    assert counts == {"train": 9, "val": 1, "test": 1}
    assert list_splits(tmp_path) == ["test", "train", "val"]
    spec = describe(tmp_path, "train")
    assert spec.pairs == 9 and spec.image_size == (32, 32)
    names = set(spec.names) | set(describe(tmp_path, "val").names)
    assert names.isdisjoint(describe(tmp_path, "test").names)


def test_split_counts_sum_to_pairs():
    assert split_counts(1000, {"train": 0.8, "val": 0.1, "test": 0.1}) == {
        "train": 800,
        "val": 100,
        "test": 100,
    }
    assert sum(split_counts(7, {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}).values()) == 7


@pytest.mark.parametrize("text", ["train=0.8,val", "train=x", "train=0.5,train=0.5", "=1"])
def test_bad_splits_name_the_part(text):
    with pytest.raises(OptionsError, match="NAME=FRACTION"):
        parse_splits(text)


def test_fractions_must_sum_to_one():
    with pytest.raises(OptionsError, match="sum to 1"):
        SynthParams(pairs=4, size=32, splits={"train": 0.5, "val": 0.2})


@pytest.mark.parametrize(("field", "value"), [("pairs", 0), ("size", 8)])
def test_bad_counts_are_refused(field, value):
    kwargs = {"pairs": 4, "size": 32, "splits": {"train": 1.0}, field: value}
    with pytest.raises(OptionsError, match=f"--{field} {value}"):
        SynthParams(**kwargs)


def test_interrupted_run_resumes_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    params = SynthParams(pairs=6, size=32, splits={"train": 1.0})
    written = []

    def flaky(job):
        if len(written) == 3:
            raise KeyboardInterrupt
        write_pair(job)
        written.append(job)

    monkeypatch.setattr("loadbench.loaders.dataset.synth.write_pair", flaky)
    with pytest.raises(KeyboardInterrupt):
        synthesize(tmp_path, params, workers=1)
    monkeypatch.undo()
    assert len(list((tmp_path / "train" / "time1").glob("*.png"))) == 3
    # A crash mid-write leaves only a hidden temporary name, which the layout ignores.
    (tmp_path / "train" / "time1" / ".000004.png.99.tmp").write_bytes(b"\x89PNG half")
    kept = digest_tree(tmp_path)
    synthesize(tmp_path, params, workers=1)
    assert describe(tmp_path, "train").pairs == 6
    final = digest_tree(tmp_path)
    assert all(final[k] == v for k, v in kept.items())
    synthesize(tmp_path / "fresh", params, workers=1)
    assert digest_tree(tmp_path / "fresh") == final


def test_refuses_a_directory_made_with_other_settings(tmp_path):
    synthesize(tmp_path, SynthParams(pairs=2, size=32, splits={"train": 1.0}), workers=1)
    with pytest.raises(OptionsError, match="different settings"):
        synthesize(tmp_path, SynthParams(pairs=3, size=32, splits={"train": 1.0}), workers=1)


def test_refuses_a_foreign_non_empty_directory(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(OptionsError, match="not empty"):
        synthesize(tmp_path, SynthParams(pairs=2, size=32, splits={"train": 1.0}), workers=1)
    assert (tmp_path / "thesis.tex").read_text() == "precious"
