"""A forked child's memory made what a spawned child's would be.

Two differences between a child forked from the fork server and a spawned one, both
measured, both undone here before the child takes its baseline:

1. ``fork`` copies the page-table entries of anonymous memory, not those of files mapped
   into the process (TensorFlow's shared libraries: about 350 MB resident after
   ``import tensorflow``). The child would fault them back in as it runs, each fault
   adding to its RSS: a small tf.data pipeline raised a forked child's RSS by 37 MB and
   the server's own by 8 MB. So the server lists the file pages it has mapped once it has
   imported everything (``resident_file_pages``, from /proc/self/pagemap), and each child
   maps exactly those (``map_pages``: ``madvise(MADV_POPULATE_READ)``, Linux 5.14 and up,
   else a read of one byte a page). They are in the page cache: no I/O.
2. Pages the child shares with the server count half in its PSS, and a write copies
   such a page (copy-on-write), raising the PSS and not the RSS: the same pipeline raised
   a forked child's PSS by 20 MB where its RSS rose 8 MB; and a worker the child forks
   would make them three-way shared, so the tree's PSS would count 2/3 of each where a
   spawned child's tree counts it once. So the server releases its own mappings of those
   file pages (``release``: ``madvise(MADV_DONTNEED)`` on pages identical to the file, so
   nothing is lost; it faults back the few it runs), and each child makes its shared
   anonymous pages its own (``unshare_anonymous``: ``madvise(MADV_POPULATE_WRITE)``,
   about 240 MB in 0.2 s). The child's PSS then counts what a spawned child's does.
"""

from __future__ import annotations

import ctypes

import numpy as np

from loadbench.harness.procs import PAGE_BYTES

MADV_DONTNEED = 4
MADV_POPULATE_READ = 22  # linux/mman.h, since 5.14
MADV_POPULATE_WRITE = 23
# /proc/PID/pagemap bits (Documentation/admin-guide/mm/pagemap.rst)
PRESENT = np.uint64(1 << 63)  # in RAM and mapped here
FILE_PAGE = np.uint64(1 << 61)  # a page of the file (or shared anonymous), not a private copy
EXCLUSIVE = np.uint64(1 << 56)  # mapped by this process only


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return libc


def _mappings(keep) -> list[tuple[int, np.ndarray]]:
    """(start address, pagemap entries) of each mapping whose permissions and name
    ``keep(perms, name)`` accepts; empty where /proc/self/pagemap cannot be read."""
    try:
        with open("/proc/self/maps") as maps:
            lines = maps.readlines()
        pagemap = open("/proc/self/pagemap", "rb")  # noqa: SIM115 - closed below
    except OSError:  # not Linux
        return []
    found = []
    with pagemap:
        for line in lines:
            fields = line.split(maxsplit=5)
            name = fields[5].strip() if len(fields) > 5 else ""
            if not keep(fields[1], name):
                continue
            low, high = (int(bound, 16) for bound in fields[0].split("-"))
            pagemap.seek(low // PAGE_BYTES * 8)
            entries = np.frombuffer(pagemap.read((high - low) // PAGE_BYTES * 8), np.uint64)
            found.append((low, entries))
    return found


def _runs(low: int, pages: np.ndarray) -> list[tuple[int, int]]:
    """Page indices (sorted) as (address, count) runs of consecutive pages."""
    if pages.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(pages) != 1)
    starts = np.concatenate(([pages[0]], pages[breaks + 1]))
    ends = np.concatenate((pages[breaks], [pages[-1]]))
    return [(low + int(s) * PAGE_BYTES, int(e - s + 1)) for s, e in zip(starts, ends, strict=True)]


def resident_file_pages() -> list[tuple[int, int]]:
    """(address, pages) runs of file pages this process has mapped now, in readable
    file-backed mappings (not the private copies of pages it wrote)."""
    runs: list[tuple[int, int]] = []
    for low, entries in _mappings(lambda perms, name: "r" in perms and name.startswith("/")):
        mapped = (entries & PRESENT).astype(bool) & (entries & FILE_PAGE).astype(bool)
        runs += _runs(low, np.flatnonzero(mapped))
    return runs


def release(runs: list[tuple[int, int]]) -> None:
    """Drop this process's mappings of ``runs`` (file pages: the page cache keeps them,
    and a touch maps them again)."""
    libc = _libc()
    for address, pages in runs:
        libc.madvise(address, pages * PAGE_BYTES, MADV_DONTNEED)


def unshare_anonymous() -> int:
    """Make every page this process shares with another, in its writable private
    mappings, its own: ``madvise(MADV_POPULATE_WRITE)`` on each run of them (Linux 5.14
    and up) takes the write fault that copy-on-write copies a page on, and changes no
    byte (reading and writing the bytes back from Python would race its own allocator).
    Return the bytes copied (0 where the kernel refuses)."""
    libc = _libc()
    copied = 0
    special = ("[vvar]", "[vdso]", "[vsyscall]")

    def writable(perms: str, name: str) -> bool:
        private = perms.startswith("rw") and perms[3] == "p"
        return private and not name.startswith("/dev/") and name not in special

    for low, entries in _mappings(writable):
        shared = (entries & PRESENT).astype(bool) & ~(entries & EXCLUSIVE).astype(bool)
        for address, pages in _runs(low, np.flatnonzero(shared)):
            if libc.madvise(address, pages * PAGE_BYTES, MADV_POPULATE_WRITE) != 0:
                return copied  # an older kernel: the PSS of a forked child stays shared
            copied += pages * PAGE_BYTES
    return copied


def map_pages(runs: list[tuple[int, int]]) -> int:
    """Map each run's pages into this process (they are in the page cache: no I/O);
    return the bytes mapped."""
    libc = _libc()
    done = 0
    for address, pages in runs:
        size = pages * PAGE_BYTES
        if libc.madvise(address, size, MADV_POPULATE_READ) != 0:  # an older kernel
            window = (ctypes.c_char * size).from_address(address)
            int(np.frombuffer(memoryview(window), np.uint8)[::PAGE_BYTES].sum())  # one byte a page
        done += size
    return done
