"""The batch readers of ``rnnconvert predict`` (issue 15): bounded memory on a large ``.npy``,
Fortran-order and truncated files."""

from __future__ import annotations

import os

import numpy as np
import pytest

from rnnconvert.errors import FormatError
from rnnconvert.scoring.readers import NpyReader, NpzReader


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_a_large_npy_is_read_in_windows_not_kept_resident(tmp_path):
    """A memory-mapped reader keeps every page it read resident until the end: reading a
    256 MiB file grew RSS by ~256 MiB. Plain reads of one window at a time keep it flat."""
    path = tmp_path / "big.npy"
    rows, width = 4096, 16384  # 4096 rows of 64 KiB: 256 MiB
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (rows, width)})
        block = np.arange(256 * width, dtype="<f4").reshape(256, width)
        for _ in range(rows // 256):
            f.write(block.tobytes())
    reader = NpyReader(str(path), ["x"])
    before, peak, seen = _rss_bytes(), 0, 0
    for chunk in reader.chunks(256):
        part = chunk.columns["x"]
        np.testing.assert_array_equal(part[:, :3], block[:, :3])
        seen += chunk.size
        peak = max(peak, _rss_bytes() - before)
    reader.close()
    assert seen == rows
    assert peak < 64 * 2**20, f"RSS grew by {peak / 2**20:.0f} MiB while reading a 256 MiB file"


def test_fortran_order_npy_is_read_row_by_row(tmp_path):
    x = np.asfortranarray(np.arange(5 * 7 * 3, dtype=np.float32).reshape(5, 7, 3))
    np.save(tmp_path / "f.npy", x)
    reader = NpyReader(str(tmp_path / "f.npy"), ["x"])
    got = np.concatenate([c.columns["x"] for c in reader.chunks(2)])
    reader.close()
    np.testing.assert_array_equal(got, x)


def test_fortran_order_npz_member_is_refused(tmp_path):
    np.savez(tmp_path / "f.npz", x=np.asfortranarray(np.ones((4, 3, 2), np.float32)))
    with pytest.raises(FormatError, match="Fortran-order"):
        NpzReader(str(tmp_path / "f.npz"), ["x"])


def test_truncated_npy_is_refused_before_any_row(tmp_path):
    np.save(tmp_path / "t.npy", np.ones((10, 4), np.float32))
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(data[:-5])
    with pytest.raises(FormatError, match="shorter than its header"):
        NpyReader(str(tmp_path / "t.npy"), ["x"])


def test_big_endian_and_bool_npy_round_trip(tmp_path):
    for x in (np.arange(12, dtype=">f4").reshape(4, 3), np.eye(4, dtype=bool)):
        np.save(tmp_path / "a.npy", x)
        reader = NpyReader(str(tmp_path / "a.npy"), ["x"])
        got = np.concatenate([c.columns["x"] for c in reader.chunks(3)])
        reader.close()
        np.testing.assert_array_equal(got, x)
