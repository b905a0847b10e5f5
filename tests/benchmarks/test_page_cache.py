"""The split's files read into the page cache before the first run (page_cache)."""

from __future__ import annotations

from loadbench.harness.parent import page_cache
from loadbench.loaders import registry


def test_the_split_and_its_conversions_are_listed_and_nothing_of_another_split(
    tiny_spec, cache_root
):
    registry.create("memmap").prepare(tiny_spec, cache_root)  # a conversion of this split
    other = cache_root / "memmap" / f"train-{'0' * 20}-v1"  # another source's
    other.mkdir(parents=True)
    (other / "arrays.npy").write_bytes(b"x" * 100)
    files = page_cache.split_files(tiny_spec, cache_root)
    assert sum(1 for p in files if p.suffix == ".png") == 3 * tiny_spec.pairs
    converted = [p for p in files if cache_root in p.parents]
    assert converted and all(tiny_spec.signature in str(p) for p in converted)


def test_warming_reads_every_byte_once_and_leaves_data_past_the_budget_alone(tmp_path):
    files = []
    for index, size in enumerate([0, 1, page_cache.CHUNK_BYTES + 5, 3000]):
        path = tmp_path / f"f{index}"
        path.write_bytes(b"\x01" * size)
        files.append(path)
    total = sum(p.stat().st_size for p in files)
    warmed = page_cache.warm(files, available_bytes=4 * total)
    assert (warmed.files, warmed.bytes, warmed.skipped) == (4, total, None)
    assert "(4 files," in warmed.said() and warmed.said().startswith("page cache: read ")
    skipped = page_cache.warm(files, available_bytes=total)  # half of it is the budget
    assert (skipped.files, skipped.bytes) == (0, 0)
    assert "over 50% of the" in skipped.said() and "not warmed" in skipped.said()
