"""CRC-32C (Castagnoli), as TensorFlow's checkpoints and LevelDB tables store it, with NumPy.

A plain table-driven loop handles short inputs. A long input is cut into equal rows that NumPy
runs through the table side by side (one vector step per byte column), and the row registers
are then chained: a CRC register is linear over GF(2), so running a row's bytes after a
register ``r`` gives ``shift(r) ^ crc_row`` where ``shift`` (feeding a row of zero bytes) is one
fixed 32x32 bit matrix, applied here through four byte tables. Leading zero bytes leave a
zero register unchanged, which is how the input is padded to whole rows.

Example:
    >>> hex(crc32c(b"123456789"))
    '0xe3069283'
"""

from __future__ import annotations

import numpy as np

_POLY = 0x82F63B78
_MASK_DELTA = 0xA282EAD8
_ROW = 1024
_SHORT = 1 << 16


def _make_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _make_table()
_NP_TABLE = np.array(_TABLE, dtype=np.uint32)


def _zeros(reg: int, count: int) -> int:
    for _ in range(count):
        reg = _TABLE[reg & 0xFF] ^ (reg >> 8)
    return reg


def _shift_tables(count: int) -> list[list[int]]:
    """Byte tables of the linear map 'feed ``count`` zero bytes' on a 32-bit register."""
    cols = [_zeros(1 << k, count) for k in range(32)]
    tables = []
    for byte in range(4):
        t = [0] * 256
        for v in range(1, 256):
            low = v & -v
            t[v] = t[v ^ low] ^ cols[8 * byte + low.bit_length() - 1]
        tables.append(t)
    return tables


_SHIFT = _shift_tables(_ROW)


def _raw_short(data: bytes | memoryview, reg: int) -> int:
    table = _TABLE
    for b in bytes(data):
        reg = table[(reg ^ b) & 0xFF] ^ (reg >> 8)
    return reg


def _raw_long(data: bytes | memoryview) -> int:
    """The register after ``data`` from a zero register (no pre/post inversion)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    pad = (-len(arr)) % _ROW
    if pad:
        arr = np.concatenate([np.zeros(pad, np.uint8), arr])
    rows = arr.reshape(-1, _ROW)
    reg = np.zeros(rows.shape[0], dtype=np.uint32)
    for j in range(_ROW):
        reg = _NP_TABLE[(reg ^ rows[:, j]) & 0xFF] ^ (reg >> np.uint32(8))
    t0, t1, t2, t3 = _SHIFT
    out = 0
    for r in reg.tolist():
        out = t0[out & 0xFF] ^ t1[(out >> 8) & 0xFF] ^ t2[(out >> 16) & 0xFF] ^ t3[out >> 24] ^ r
    return out


def crc32c(data: bytes | memoryview) -> int:
    """The CRC-32C of ``data``."""
    n = len(data)
    if n < _SHORT:
        return _raw_short(data, 0xFFFFFFFF) ^ 0xFFFFFFFF
    # init 0xFFFFFFFF == a zero register fed the init's effect: shift(init, n) ^ raw(data)
    return _zeros_fast(0xFFFFFFFF, n) ^ _raw_long(data) ^ 0xFFFFFFFF


def _zeros_fast(reg: int, count: int) -> int:
    """``_zeros`` in O(count / _ROW) table steps."""
    t0, t1, t2, t3 = _SHIFT
    for _ in range(count // _ROW):
        reg = t0[reg & 0xFF] ^ t1[(reg >> 8) & 0xFF] ^ t2[(reg >> 16) & 0xFF] ^ t3[reg >> 24]
    return _zeros(reg, count % _ROW)


def unmask(masked: int) -> int:
    """LevelDB/TensorFlow store ``rotate_right(crc, 15) + 0xa282ead8``; this undoes it."""
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


__all__ = ["crc32c", "unmask"]
