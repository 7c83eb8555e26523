"""Hashing (FORMAT.md 5.50): TensorFlow's string hashes, written from their published
definitions in pure Python integers (64-bit arithmetic by masking):

* ``fingerprint64`` -- FarmHash's Fingerprint64 (``farmhashna::Hash64``), which
  ``tf.strings.to_hash_bucket_fast`` reduces modulo the bucket count;
* ``siphash24`` -- SipHash-2-4 with a 128-bit key (k0, k1), which
  ``tf.strings.to_hash_bucket_strong`` (Keras's salted Hashing) reduces likewise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import InputError
from .text import encode

M64 = (1 << 64) - 1
K0 = 0xC3A5C85C97CB3127
K1 = 0xB492B66FBE98F273
K2 = 0x9AE16A3B2F90404F


def _f64(s: bytes, i: int) -> int:
    return int.from_bytes(s[i : i + 8], "little")


def _f32(s: bytes, i: int) -> int:
    return int.from_bytes(s[i : i + 4], "little")


def _rot(v: int, r: int) -> int:  # rotate right
    return v if r == 0 else ((v >> r) | (v << (64 - r))) & M64


def _mix(v: int) -> int:
    return v ^ (v >> 47)


def _len16(u: int, v: int, mul: int) -> int:
    a = ((u ^ v) * mul) & M64
    a ^= a >> 47
    b = ((v ^ a) * mul) & M64
    b ^= b >> 47
    return (b * mul) & M64


def _len0to16(s: bytes) -> int:
    n = len(s)
    if n >= 8:
        mul = K2 + n * 2
        a = (_f64(s, 0) + K2) & M64
        b = _f64(s, n - 8)
        c = (_rot(b, 37) * mul + a) & M64
        d = ((_rot(a, 25) + b) * mul) & M64
        return _len16(c, d, mul)
    if n >= 4:
        mul = K2 + n * 2
        return _len16(n + (_f32(s, 0) << 3), _f32(s, n - 4), mul)
    if n > 0:
        y = (s[0] + (s[n >> 1] << 8)) & 0xFFFFFFFF
        z = (n + (s[n - 1] << 2)) & 0xFFFFFFFF
        return (_mix(((y * K2) ^ (z * K0)) & M64) * K2) & M64
    return K2


def _len17to32(s: bytes) -> int:
    n = len(s)
    mul = K2 + n * 2
    a = (_f64(s, 0) * K1) & M64
    b = _f64(s, 8)
    c = (_f64(s, n - 8) * mul) & M64
    d = (_f64(s, n - 16) * K2) & M64
    return _len16((_rot((a + b) & M64, 43) + _rot(c, 30) + d) & M64, (a + _rot((b + K2) & M64, 18) + c) & M64, mul)


def _len33to64(s: bytes) -> int:
    n = len(s)
    mul = K2 + n * 2
    a = (_f64(s, 0) * K2) & M64
    b = _f64(s, 8)
    c = (_f64(s, n - 8) * mul) & M64
    d = (_f64(s, n - 16) * K2) & M64
    y = (_rot((a + b) & M64, 43) + _rot(c, 30) + d) & M64
    z = _len16(y, (a + _rot((b + K2) & M64, 18) + c) & M64, mul)
    e = (_f64(s, 16) * mul) & M64
    f = _f64(s, 24)
    g = ((y + _f64(s, n - 32)) * mul) & M64
    h = ((z + _f64(s, n - 24)) * mul) & M64
    return _len16((_rot((e + f) & M64, 43) + _rot(g, 30) + h) & M64, (e + _rot((f + a) & M64, 18) + g) & M64, mul)


def _weak32(s: bytes, i: int, a: int, b: int) -> tuple[int, int]:
    w, x, y, z = _f64(s, i), _f64(s, i + 8), _f64(s, i + 16), _f64(s, i + 24)
    a = (a + w) & M64
    b = _rot((b + a + z) & M64, 21)
    c = a
    a = (a + x + y) & M64
    b = (b + _rot(a, 44)) & M64
    return (a + z) & M64, (b + c) & M64


def fingerprint64(s: bytes) -> int:
    """FarmHash Fingerprint64 of ``s`` (an unsigned 64-bit integer)."""
    n = len(s)
    if n <= 16:
        return _len0to16(s)
    if n <= 32:
        return _len17to32(s)
    if n <= 64:
        return _len33to64(s)
    seed = 81
    x = seed
    y = (seed * K1 + 113) & M64
    z = (_mix((y * K2 + 113) & M64) * K2) & M64
    v, w = (0, 0), (0, 0)
    x = (x * K2 + _f64(s, 0)) & M64
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    i = 0
    while True:
        x = (_rot((x + y + v[0] + _f64(s, i + 8)) & M64, 37) * K1) & M64
        y = (_rot((y + v[1] + _f64(s, i + 48)) & M64, 42) * K1) & M64
        x ^= w[1]
        y = (y + v[0] + _f64(s, i + 40)) & M64
        z = (_rot((z + w[0]) & M64, 33) * K1) & M64
        v = _weak32(s, i, (v[1] * K1) & M64, (x + w[0]) & M64)
        w = _weak32(s, i + 32, (z + w[1]) & M64, (y + _f64(s, i + 16)) & M64)
        z, x = x, z
        i += 64
        if i == end:
            break
    mul = K1 + ((z & 0xFF) << 1)
    i = last64
    w = ((w[0] + ((n - 1) & 63)) & M64, w[1])
    v = ((v[0] + w[0]) & M64, v[1])
    w = ((w[0] + v[0]) & M64, w[1])
    x = (_rot((x + y + v[0] + _f64(s, i + 8)) & M64, 37) * mul) & M64
    y = (_rot((y + v[1] + _f64(s, i + 48)) & M64, 42) * mul) & M64
    x ^= (w[1] * 9) & M64
    y = (y + v[0] * 9 + _f64(s, i + 40)) & M64
    z = (_rot((z + w[0]) & M64, 33) * mul) & M64
    v = _weak32(s, i, (v[1] * mul) & M64, (x + w[0]) & M64)
    w = _weak32(s, i + 32, (z + w[1]) & M64, (y + _f64(s, i + 16)) & M64)
    z, x = x, z
    return _len16((_len16(v[0], w[0], mul) + _mix(y) * K0 + z) & M64, (_len16(v[1], w[1], mul) + x) & M64, mul)


def _rotl(v: int, r: int) -> int:
    return ((v << r) | (v >> (64 - r))) & M64


def _sipround(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    v0 = (v0 + v1) & M64
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & M64
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & M64
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & M64
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def siphash24(k0: int, k1: int, s: bytes) -> int:
    """SipHash-2-4 of ``s`` under the key (k0, k1) (unsigned 64-bit integers)."""
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D, k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]
    n = len(s)
    full = n - n % 8
    blocks = [_f64(s, i) for i in range(0, full, 8)]
    blocks.append(((n & 0xFF) << 56) | int.from_bytes(s[full:], "little"))
    for m in blocks:
        v[3] ^= m
        for _ in range(2):
            v = list(_sipround(*v))
        v[0] ^= m
    v[2] ^= 0xFF
    for _ in range(4):
        v = list(_sipround(*v))
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def hash_bucket(text: str, bins: int, salt: list[str] | None) -> int:
    """``tf.strings.to_hash_bucket_fast`` (no salt) or ``_strong`` (salt) of one string."""
    data = text.encode("utf-8")
    h = siphash24(int(salt[0]), int(salt[1]), data) if salt is not None else fingerprint64(data)
    return h % bins


def _text(v: Any) -> str:
    if isinstance(v, (str, np.str_)):
        return str(v)
    if isinstance(v, (bytes, np.bytes_)):
        return bytes(v).decode("utf-8")
    return str(int(v))  # integers as tf.as_string writes them; floats truncated first


def hashing(
    x: np.ndarray, *, num_bins: int, mask_token: Any, salt: list[str] | None, output_mode: str
) -> list[np.ndarray]:
    """Each value's bin: its text (an integer in decimal) hashed, modulo the bins left
    after the mask's (bin 0, when ``mask_token`` is set and num_bins > 1), then encoded."""
    a = np.asarray(x)
    if output_mode == "one_hot" and a.ndim > 1 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise InputError("Hashing input contains NaN or Inf")
    masked = mask_token is not None and num_bins > 1
    bins = num_bins - 1 if masked else num_bins
    flat = a.reshape(-1).tolist()
    out = np.empty(len(flat), np.int64)
    for i, v in enumerate(flat):
        out[i] = hash_bucket(_text(np.trunc(v) if isinstance(v, float) else v), bins, salt) + (1 if masked else 0)
        if masked and v == mask_token:
            out[i] = 0
    ids = out.reshape(a.shape)
    return [ids if output_mode == "int" else encode(ids, num_bins, output_mode)]
