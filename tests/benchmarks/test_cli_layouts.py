"""``data check`` and ``run`` on datasets named as the public ones are, and ``--folders``
for any other naming: in-process through ``main(argv)``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from loadbench.cli import main

LEVIR = "LEVIR-CD / LEVIR-CD+ / WHU-CD / EGY-BCD / DSIFN-CD-256 layout: A, B, label"


def write_split(root: Path, folders, split="train", pairs=2) -> Path:
    """``pairs`` 16x16 PNG samples in the three ``folders`` (before, after, mask)."""
    before, after, mask = (root / split / f for f in folders)
    for folder in (before, after, mask):
        folder.mkdir(parents=True, exist_ok=True)
    for i in range(pairs):
        name = f"{i:03d}.png"
        Image.fromarray(np.full((16, 16, 3), i, np.uint8)).save(before / name)
        Image.fromarray(np.full((16, 16, 3), i + 1, np.uint8)).save(after / name)
        Image.fromarray(np.zeros((16, 16), np.uint8)).save(mask / name)
    return root


def test_check_recognises_a_levir_tree_and_says_so_per_split(tmp_path, capsys):
    root = write_split(tmp_path, ("A", "B", "label"), "train", pairs=3)
    write_split(root, ("A", "B", "label"), "test", pairs=2)
    (root / "list").mkdir()  # not a split: no layout's folders
    assert main(["data", "check", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["test", "2", "16x16", "1,792", "3.6", "KB"]
    assert lines[2].split() == ["train", "3", "16x16", "1,792", "5.4", "KB"]
    assert lines[4:] == [f"test: {LEVIR}", f"train: {LEVIR}"]


def test_check_without_a_split_lists_the_known_layouts_and_folders(tmp_path, capsys):
    write_split(tmp_path, ("pre", "post", "gt"))
    assert main(["data", "check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"loadbench: error: {tmp_path}: no split found; expected ROOT/<split>/")
    assert "\n  A, B, OUT (CDD)\n" in err and "\n  t1, t2, mask (DSIFN-CD)\n" in err
    assert "for another naming pass --folders BEFORE,AFTER,MASK" in err


def test_check_of_a_split_itself_says_to_pass_the_folder_above(tmp_path, capsys):
    root = write_split(tmp_path, ("A", "B", "label"), split="WHU-CD-256")
    assert main(["data", "check", str(root / "WHU-CD-256")]) == 2
    err = capsys.readouterr().err
    assert f"is itself a split ({LEVIR}); pass the folder above it as ROOT" in err
    assert f"loadbench run --data {root} --split WHU-CD-256" in err


def test_check_with_folders_reads_another_naming(tmp_path, capsys):
    root = write_split(tmp_path, ("pre", "post", "gt"))
    assert main(["data", "check", str(root), "--folders", "pre,post,gt"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:2] == ["train", "2"]
    assert out[-1] == "train: folders given by --folders: pre, post, gt"


def test_check_reports_a_split_with_two_layouts(tmp_path, capsys):
    root = write_split(tmp_path, ("A", "B", "label"))
    write_split(root, ("A", "B", "OUT"))
    assert main(["data", "check", str(root)]) == 2
    out = capsys.readouterr().out
    assert "holds the folders of 2 layouts at once" in out and "CDD layout: A, B, OUT" in out
    assert main(["data", "check", str(root), "--folders", "A,B,OUT"]) == 0


@pytest.mark.parametrize(
    "command", [["data", "check", "{root}"], ["run", "--data", "{root}", "--no-report"]]
)
def test_a_bad_folders_value_is_named(tmp_path, capsys, command):
    root = write_split(tmp_path, ("A", "B", "label"))
    argv = [part.format(root=root) for part in command]
    assert main([*argv, "--folders", "A,B"]) == 2
    err = capsys.readouterr().err
    assert "--folders A,B: give three comma-separated folder names" in err


def test_run_takes_folders_only_with_data(capsys):
    assert main(["run", "--folders", "A,B,label"]) == 2
    assert "--folders A,B,label: only with --data" in capsys.readouterr().err


@pytest.mark.slow
def test_run_reads_the_given_folders_and_says_which(tmp_path, capsys):
    from loadbench.reports import jsonl

    root = write_split(tmp_path / "data", ("A", "B", "change"))
    argv = ["run", "--data", str(root), "--folders", "A,B,change", "--loaders", "tensor_slices"]
    argv += ["--mode", "iterate", "--steps", "1", "--warmup", "0", "--min-time", "0"]
    argv += ["--fast", "--no-report", "--batch-size", "2"]  # the folders, not the peak
    argv += ["--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert (
        f"dataset {root} split train (folders given by --folders: A, B, change): "
        "2 pairs 16x16" in out
    )
    [record] = jsonl.read(tmp_path / "out" / "results.jsonl")
    assert (record.status, record.dataset["pairs"]) == ("ok", 2)
