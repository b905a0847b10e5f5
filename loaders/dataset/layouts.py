"""The folder namings of public change-detection datasets, and which one a split uses.

A layout is a naming of the three folders of ``ROOT/<split>/``: images before, images
after, change masks. Several datasets share one naming (LEVIR-CD and WHU-CD are both
``A, B, label``), so a layout lists the datasets known to use it. Where each name comes
from (the release, and the source read) is in docs/LAYOUTS.md.

Folder names are matched whole, ignoring case (``a`` is ``A``), against the folders
really on disk, whose own spelling is what a split then reads: on a case-insensitive
file system ``split/A`` exists even when the folder is ``a``, and the names hashed into
the split's signature must be the ones listed there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from loadbench.loaders.errors import DatasetError, OptionsError

# What each folder holds, as ``SampleFiles`` names it: before, after, mask.
ROLES = ("time1", "time2", "label")
GIVEN = "given"  # the layout name of folders given with --folders
FOLDERS_OPTION = "--folders BEFORE,AFTER,MASK"


@dataclass(frozen=True, kw_only=True)
class Layout:
    """One naming of a split's before, after and mask folders.

    name: a short key for output and tests: the first dataset that uses it, "loadbench"
        for the built-in layout, ``GIVEN`` for folders given with --folders.
    datasets: the datasets whose released archives use this naming (docs/LAYOUTS.md).
    """

    name: str
    datasets: tuple[str, ...]
    before: str
    after: str
    mask: str

    def __post_init__(self) -> None:
        folders = self.folders
        for folder in folders:
            if not folder or folder in (".", "..") or "/" in folder or "\\" in folder:
                raise OptionsError(
                    f"--folders {','.join(folders)}: {folder!r} is not a folder name; give "
                    "three folder names of each split, e.g. --folders A,B,label"
                )
        if len({f.lower() for f in folders}) < 3:
            raise OptionsError(
                f"--folders {','.join(folders)}: a name is repeated (names match ignoring "
                "case); give the before, after and mask folders, three different names"
            )

    @property
    def folders(self) -> tuple[str, str, str]:
        return (self.before, self.after, self.mask)

    def summary(self, on_disk: Sequence[str] | None = None) -> str:
        """``LEVIR-CD / WHU-CD / ... layout: A, B, label``, with the names as on disk."""
        folders = ", ".join(on_disk or self.folders)
        if self.name == GIVEN:
            return f"folders given by --folders: {folders}"
        return f"{' / '.join(self.datasets)} layout: {folders}"


BUILTIN = Layout(
    name="loadbench",
    datasets=("loadbench", "SYSU-CD", "CLCD"),
    before="time1",
    after="time2",
    mask="label",
)
KNOWN: tuple[Layout, ...] = (
    BUILTIN,
    Layout(
        name="LEVIR-CD",
        datasets=("LEVIR-CD", "LEVIR-CD+", "WHU-CD", "EGY-BCD", "DSIFN-CD-256"),
        before="A",
        after="B",
        mask="label",
    ),
    Layout(name="CDD", datasets=("CDD",), before="A", after="B", mask="OUT"),
    Layout(name="DSIFN-CD", datasets=("DSIFN-CD",), before="t1", after="t2", mask="mask"),
    Layout(
        name="S2Looking", datasets=("S2Looking",), before="Image1", after="Image2", mask="label"
    ),
    Layout(
        name="Landsat-SCD",
        datasets=("Landsat-SCD", "WHU-GCD"),
        before="im1",
        after="im2",
        mask="label",
    ),
)


def given(folders: Sequence[str]) -> Layout:
    """The layout of folders named on the command line (checked: three different names)."""
    if len(folders) != 3:
        raise OptionsError(
            f"--folders {','.join(folders)}: give three comma-separated folder names, "
            "before, after and mask, e.g. --folders A,B,label"
        )
    before, after, mask = folders
    return Layout(name=GIVEN, datasets=(), before=before, after=after, mask=mask)


def parse_folders(text: str) -> tuple[str, str, str]:
    """``--folders BEFORE,AFTER,MASK`` as a triple; OptionsError naming the value."""
    return given([part.strip() for part in text.split(",")]).folders


def known_names() -> str:
    """The known layouts as ``--folders`` would name them: ``time1,time2,label; ...``."""
    return "; ".join(",".join(k.folders) for k in KNOWN)


def known_text() -> str:
    """The known layouts, one a line, for error messages."""
    return "\n  ".join(f"{', '.join(k.folders)} ({' / '.join(k.datasets)})" for k in KNOWN)


@dataclass(frozen=True, kw_only=True)
class Recognised:
    """The layout a split uses and its three folders as spelled on disk."""

    layout: Layout
    folders: tuple[str, str, str]


def recognise(split_dir: Path, folders: Sequence[str] | None = None) -> Recognised:
    """Which layout ``split_dir`` holds: the one given, else the one known layout whose
    three folders are all there. Raises DatasetError saying what was looked for."""
    if folders is not None:
        layout = given(folders)
        on_disk = subfolders(split_dir)
        resolved = _resolve(split_dir, on_disk, layout.folders)
        missing = [f for f, found in zip(layout.folders, resolved, strict=True) if found is None]
        if missing:
            raise DatasetError(
                f"{split_dir / missing[0]}: missing folder; --folders {','.join(layout.folders)} "
                f"names the before, after and mask folders every split must hold (folders "
                f"in {split_dir}: {', '.join(on_disk) or 'none'})"
            )
        return Recognised(layout=layout, folders=_complete(resolved))
    found = matches(split_dir)
    if len(found) == 1:
        return found[0]
    if found:
        named = "; ".join(r.layout.summary(r.folders) for r in found)
        raise DatasetError(
            f"{split_dir}: holds the folders of {len(found)} layouts at once ({named}); "
            f"pass {FOLDERS_OPTION} to say which three folders to read"
        )
    raise DatasetError(_unknown(split_dir))


def matches(split_dir: Path) -> list[Recognised]:
    """Every known layout whose three folders ``split_dir`` holds (none if no folder)."""
    found = []
    on_disk = subfolders(split_dir)
    for layout in KNOWN:
        resolved = _resolve(split_dir, on_disk, layout.folders)
        if all(r is not None for r in resolved):
            found.append(Recognised(layout=layout, folders=_complete(resolved)))
    return found


def _unknown(split_dir: Path) -> str:
    """Why no known layout matched: the folder a nearly matching layout misses, or the
    known layouts and --folders."""
    near = ""
    on_disk = subfolders(split_dir)
    for layout in KNOWN:
        resolved = _resolve(split_dir, on_disk, layout.folders)
        missing = [f for f, r in zip(layout.folders, resolved, strict=True) if r is None]
        if len(missing) == 1:
            near = f"{split_dir / missing[0]}: missing folder of the {layout.summary()}. "
            break
    return (
        f"{near}{split_dir}: no known folder layout (its folders: {', '.join(on_disk) or 'none'}); "
        f"known layouts (before, after, mask):\n  {known_text()}\n"
        f"for another naming pass {FOLDERS_OPTION}"
    )


def subfolders(split_dir: Path) -> list[str]:
    """The folders of ``split_dir`` as spelled on disk, hidden ones left out."""
    if not split_dir.is_dir():
        return []
    return sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def _resolve(split_dir: Path, on_disk: list[str], names: Sequence[str]) -> list[str | None]:
    """Each name as spelled in ``on_disk`` (the folders of ``split_dir``): the exact
    name, else the one folder that differs only in case; None where there is none. Two
    such folders are a DatasetError."""
    resolved: list[str | None] = []
    for name in names:
        if name in on_disk:
            resolved.append(name)
            continue
        candidates = [d for d in on_disk if d.lower() == name.lower()]
        if len(candidates) > 1:
            raise DatasetError(
                f"{split_dir}: folders {' and '.join(candidates)} differ only in case and "
                f"both could be {name!r}; rename one"
            )
        resolved.append(candidates[0] if candidates else None)
    return resolved


def _complete(resolved: list[str | None]) -> tuple[str, str, str]:
    before, after, mask = resolved
    assert before is not None and after is not None and mask is not None
    return (before, after, mask)
