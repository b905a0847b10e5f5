"""The folder namings of public datasets: each recognised, ``--folders`` for any other,
two at once refused, and a signature that stays what it was for the built-in layout."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from loadbench.loaders.dataset.layout import FOLDERS, describe, list_splits
from loadbench.loaders.dataset.layouts import BUILTIN, GIVEN, KNOWN, Layout, parse_folders
from loadbench.loaders.errors import DatasetError, OptionsError
from loadbench.loaders.strategies.article import Article, mispaired


def write_split(root: Path, folders, names=("a", "b"), split="train") -> Path:
    """A split of 16x16 PNGs named ``names`` in the three ``folders`` (before, after,
    mask); the before image of the i-th name is filled with i."""
    before, after, mask = (root / split / f for f in folders)
    for i, name in enumerate(names):
        for folder in (before, after, mask):
            folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((16, 16, 3), i, np.uint8)).save(before / f"{name}.png")
        Image.fromarray(np.full((16, 16, 3), i + 1, np.uint8)).save(after / f"{name}.png")
        Image.fromarray(np.zeros((16, 16), np.uint8)).save(mask / f"{name}.png")
    return root


@pytest.mark.parametrize("layout", KNOWN, ids=[k.name for k in KNOWN])
def test_each_known_layout_is_recognised(tmp_path, layout: Layout):
    root = write_split(tmp_path, layout.folders)
    data = describe(root, "train")
    assert data.names == ("a", "b")
    assert (data.layout, data.folders) == (layout, layout.folders)
    first = data.samples[0]
    # The roles keep their names; each file lies in its layout's folder.
    assert [p.parent.name for p in (first.time1, first.time2, first.label)] == list(layout.folders)
    assert list_splits(root) == ["train"]


def test_recognised_layout_is_said_with_its_datasets(tmp_path):
    data = describe(write_split(tmp_path, ("A", "B", "label")), "train")
    assert data.layout.name == "LEVIR-CD"
    assert data.layout_summary.startswith("LEVIR-CD / LEVIR-CD+ / WHU-CD / ")
    assert data.layout_summary.endswith(" layout: A, B, label")


def test_builtin_layout_is_the_role_names():
    assert BUILTIN.folders == FOLDERS == ("time1", "time2", "label")
    assert KNOWN[0] is BUILTIN


def test_folder_names_match_ignoring_case_and_are_read_as_on_disk(tmp_path):
    root = write_split(tmp_path, ("a", "b", "Label"))
    data = describe(root, "train")
    assert data.layout.name == "LEVIR-CD"
    assert data.folders == ("a", "b", "Label")
    assert data.samples[0].time1 == root / "train" / "a" / "a.png"


def test_two_spellings_of_one_name_are_an_error(tmp_path):
    root = write_split(tmp_path, ("A", "B", "Label"))
    (root / "train" / "LABEL").mkdir()
    with pytest.raises(DatasetError, match=r"folders LABEL and Label differ only in case"):
        describe(root, "train")


def test_given_folders_read_any_naming(tmp_path):
    root = write_split(tmp_path, ("before", "after", "change"))
    with pytest.raises(DatasetError, match=r"no known folder layout \(its folders: after, before"):
        describe(root, "train")
    assert list_splits(root) == []
    given = ("before", "after", "change")
    data = describe(root, "train", folders=given)
    assert (data.layout.name, data.folders, data.names) == (GIVEN, given, ("a", "b"))
    assert data.layout_summary == "folders given by --folders: before, after, change"
    assert list_splits(root, given) == ["train"]


def test_unknown_layout_lists_every_known_one_and_the_option(tmp_path):
    root = write_split(tmp_path, ("pre", "post", "gt"))
    with pytest.raises(DatasetError) as info:
        describe(root, "train")
    message = str(info.value)
    for layout in KNOWN:
        assert f"{', '.join(layout.folders)} ({' / '.join(layout.datasets)})" in message
    assert "pass --folders BEFORE,AFTER,MASK" in message


def test_a_split_missing_one_folder_of_a_layout_names_it(tmp_path):
    root = write_split(tmp_path, ("Image1", "Image2", "label"))
    (root / "train" / "label").rename(root / "train" / "labels")
    with pytest.raises(DatasetError, match=r"train/label: missing folder of the S2Looking layout"):
        describe(root, "train")


def test_two_layouts_at_once_are_an_error_naming_both(tmp_path):
    root = write_split(tmp_path, ("A", "B", "label"))
    write_split(root, ("time1", "time2", "label"))
    assert list_splits(root) == ["train"]  # listed, then refused
    with pytest.raises(DatasetError) as info:
        describe(root, "train")
    message = str(info.value)
    assert "holds the folders of 2 layouts at once" in message
    assert "loadbench / SYSU-CD / CLCD layout: time1, time2, label" in message
    assert "LEVIR-CD / LEVIR-CD+ / WHU-CD / EGY-BCD / DSIFN-CD-256 layout: A, B, label" in message
    assert "pass --folders BEFORE,AFTER,MASK" in message
    data = describe(root, "train", folders=("A", "B", "label"))
    assert (data.layout.name, data.folders) == (GIVEN, ("A", "B", "label"))


def test_a_given_folder_missing_is_named(tmp_path):
    root = write_split(tmp_path, ("A", "B", "label"))
    with pytest.raises(DatasetError, match=r"train/OUT: missing folder; --folders A,B,OUT"):
        describe(root, "train", folders=("A", "B", "OUT"))
    assert list_splits(root, ("A", "B", "OUT")) == []


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("A,B", "give three comma-separated folder names"),
        ("A,B,label,list", "give three comma-separated folder names"),
        ("A,,label", "'' is not a folder name"),
        ("A,B/x,label", "'B/x' is not a folder name"),
        ("A,a,label", "a name is repeated"),
    ],
)
def test_bad_folders_values_are_named(value, said):
    with pytest.raises(OptionsError, match=rf"--folders {value}: {said}"):
        parse_folders(value)


def test_folders_value_is_trimmed():
    assert parse_folders("A, B, OUT") == ("A", "B", "OUT")


def test_builtin_signature_hashes_the_text_it_always_did(tmp_path):
    """Converted caches are keyed by it: the built-in layout's must not move."""
    root = write_split(tmp_path, FOLDERS)
    data = describe(root, "train")
    digest = hashlib.sha256(b"train")
    for name in ("a", "b"):
        for folder in ("time1", "time2", "label"):
            stat = (root / "train" / folder / f"{name}.png").stat()
            digest.update(f"{folder}/{name}.png:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    assert data.signature == digest.hexdigest()[:20]


def test_signature_depends_on_the_folders_read(tmp_path):
    root = write_split(tmp_path, FOLDERS)
    before = describe(root, "train").signature
    for old, new in zip(FOLDERS, ("A", "B", "label"), strict=True):
        os.rename(root / "train" / old, root / "train" / new)  # same files, same times
    levir = describe(root, "train")
    assert levir.layout.name == "LEVIR-CD" and levir.signature != before
    os.rename(root / "train" / "label", root / "train" / "OUT")
    assert describe(root, "train").signature not in (before, levir.signature)


def test_list_splits_lists_the_splits_of_any_known_layout(tmp_path):
    write_split(tmp_path, ("A", "B", "label"), split="train")
    write_split(tmp_path, ("t1", "t2", "mask"), split="test")
    write_split(tmp_path, ("pre", "post", "gt"), split="other")
    (tmp_path / "list").mkdir()
    assert list_splits(tmp_path) == ["test", "train"]
    assert describe(tmp_path, "test").layout.name == "DSIFN-CD"


def test_unknown_split_lists_the_ones_found_with_the_given_folders(tmp_path):
    write_split(tmp_path, ("pre", "post", "gt"))
    with pytest.raises(DatasetError, match=r"no such split; splits found under .*: train$"):
        describe(tmp_path, "val", folders=("pre", "post", "gt"))


def test_unpaired_files_are_named_by_their_folder_on_disk(tmp_path):
    root = write_split(tmp_path, ("A", "B", "label"), names=("a", "b", "c"))
    (root / "train" / "B" / "b.png").unlink()
    data = describe(root, "train", skip_unpaired=True)
    assert data.names == ("a", "c")
    assert data.unpaired == ("A/b.png", "label/b.png")


def test_article_zips_the_splits_own_folders(tmp_path):
    root = write_split(tmp_path, ("A", "B", "label"), names=("a", "b", "c"))
    (root / "train" / "B" / "a.png").unlink()
    data = describe(root, "train", skip_unpaired=True)
    pairing = Article().pairing(data)
    assert pairing["rule"] == "zip(sorted(A), sorted(B), sorted(label))"
    # b, c of B against a, b of A and label: both triples mispaired, c dropped twice.
    assert (pairing["triples"], pairing["mispaired"]) == (2, 2)
    assert pairing["dropped"] == ["A/c.png", "label/c.png"]
    assert mispaired(root / "train", ("A", "B", "label"))[0] == 2
