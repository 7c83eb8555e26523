"""The prepared convolution (runtime/fast/conv.py) and the tiled max pooling of ops/pool.py
compute what the reference ops compute.

The reference Conv2D / Conv3D / Pool2D are checked against live Keras by test_parity.py
(the conv, pool, CRNN and LRCN zoo cases run through ``predict``, hence through these fast
routes); here every configuration they take -- padding, strides, dilation, both data
formats, 2-D and 3-D, with and without bias, element-wise and whole-tensor activations,
whole-image blocks and row slabs, the patch-limit fallback, non-float32 inputs -- is
compared with the reference op directly (convolution) or a brute-force window walk
(pooling), without Keras. No timing asserts.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import tolerance
from helpers import conv_case

from rnnconvert.runtime.fast import conv as fast_conv_module
from rnnconvert.runtime.fast import prepare_fast
from rnnconvert.runtime.ops import pool
from rnnconvert.runtime.ops.convnd import conv

ACTIVATIONS = [
    {"type": "relu"},
    {"type": "linear"},
    {"type": "tanh"},
    {"type": "softmax", "axis": -1},
    {"type": "elu", "alpha": 1.0},
]


def _case(rng, n, *, padding, stride, dilation, cf, use_bias, act, k=3, c_in=3, c_out=5, size=7, batch=2):
    kw = {"cf": cf, "use_bias": use_bias, "k": k, "c_in": c_in, "c_out": c_out, "size": size, "batch": batch}
    return conv_case(rng, n, padding=padding, stride=stride, dilation=dilation, act=act, **kw)


def _check(x, config, weights, op="Conv2D"):
    fast = prepare_fast(op, config, weights)
    assert fast is not None
    got = fast(x)[0]
    want = conv(x, **weights, **config)[0]
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=0, atol=tolerance(want))


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride,dilation", [(1, 1), (2, 1), (1, 2), (3, 1)])
@pytest.mark.parametrize("cf", [False, True])
@pytest.mark.parametrize("c_in", [1, 3, fast_conv_module.CHANNEL_RUNS + 1])  # both patch layouts
def test_fast_conv_matches_reference(n, padding, stride, dilation, cf, c_in):
    rng = np.random.default_rng(n * 100 + stride * 10 + dilation + cf + c_in)
    for use_bias, act in itertools.product((True, False), ACTIVATIONS[:2]):
        x, config, weights = _case(
            rng, n, padding=padding, stride=stride, dilation=dilation, cf=cf, use_bias=use_bias, act=act, c_in=c_in
        )
        _check(x, config, weights, "Conv2D" if n == 2 else "Conv3D")


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_fast_conv_activations(act):
    rng = np.random.default_rng(7)
    x, config, weights = _case(rng, 2, padding="same", stride=1, dilation=1, cf=False, use_bias=True, act=act)
    _check(x, config, weights)


@pytest.mark.parametrize("elements", [1, 200, 5000, 50000])
@pytest.mark.parametrize("c_in", [3, fast_conv_module.CHANNEL_RUNS])
def test_fast_conv_blocks(monkeypatch, elements, c_in):
    """Row slabs of one image (a block smaller than an image's patches), several images a
    block, a kernel larger than the input under ``same``: the same numbers."""
    monkeypatch.setattr(fast_conv_module, "PATCH_ELEMENTS", elements)
    rng = np.random.default_rng(elements)
    x, config, weights = _case(
        rng, 2, padding="same", stride=1, dilation=1, cf=False, use_bias=True, act={"type": "relu"}, batch=5, c_in=c_in
    )
    _check(x, config, weights)
    x, config, weights = _case(
        rng, 2, padding="same", stride=2, dilation=1, cf=True, use_bias=False, act={"type": "relu"}, k=9, size=4
    )
    _check(x, config, weights)


def _allocations(monkeypatch, fast, x):
    """``fast(x)[0]``, and the size of every np.empty buffer the call made."""
    sizes = []
    real_empty = np.empty

    def spy_empty(shape, *args, **kwargs):
        sizes.append(int(np.prod(shape)))
        return real_empty(shape, *args, **kwargs)

    monkeypatch.setattr(fast_conv_module.np, "empty", spy_empty)
    try:
        return fast(x)[0], sizes
    finally:
        monkeypatch.setattr(fast_conv_module.np, "empty", real_empty)


def test_fast_conv_patch_bound(monkeypatch):
    """A block never holds more than PATCH_LIMIT patch values: where one output row's
    patches alone exceed it, the reference op runs -- the same numbers, no large buffer."""
    monkeypatch.setattr(fast_conv_module, "PATCH_LIMIT", 50)
    rng = np.random.default_rng(3)
    x, config, weights = _case(
        rng, 2, padding="valid", stride=1, dilation=1, cf=False, use_bias=True, act={"type": "relu"}
    )
    fast = prepare_fast("Conv2D", config, weights)
    got, seen = _allocations(monkeypatch, fast, x)
    np.testing.assert_allclose(got, conv(x, **weights, **config)[0], rtol=0, atol=1e-5)
    assert seen == []  # the fast route allocated nothing: the reference op ran


def test_fast_conv_block_size_bounded(monkeypatch):
    """The patch buffer of a call is at most max(PATCH_ELEMENTS, one output row's patches)."""
    monkeypatch.setattr(fast_conv_module, "PATCH_ELEMENTS", 300)
    rng = np.random.default_rng(4)
    x, config, weights = _case(
        rng, 2, padding="same", stride=1, dilation=1, cf=False, use_bias=True, act={"type": "relu"}, size=20
    )
    fast = prepare_fast("Conv2D", config, weights)
    _, sizes = _allocations(monkeypatch, fast, x)
    rows = 3 * 3 * 3 + 1  # K * K * C_in patch rows and the ones row
    patch_buffers = [s for s in sizes if s % rows == 0 and s != x.shape[0] * 20 * 21 * 5]
    assert patch_buffers and max(patch_buffers) <= max(300, 21 * rows)


def test_fast_conv_refuses_what_it_does_not_do():
    rng = np.random.default_rng(5)
    x, config, weights = _case(
        rng, 2, padding="same", stride=1, dilation=1, cf=False, use_bias=True, act={"type": "relu"}
    )
    assert prepare_fast("Conv2D", {**config, "groups": 3}, weights) is None
    half = {k: v.astype(np.float16) for k, v in weights.items()}
    assert prepare_fast("Conv2D", config, half) is None
    fast = prepare_fast("Conv2D", config, weights)
    x64 = x.astype(np.float64)  # the reference op promotes as NumPy does
    got = fast(x64)[0]
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, conv(x64, **weights, **config)[0])


def _window_walk(x, axes, k, padding):
    """Brute-force max pooling with strides = pool size: every window, every cell."""
    size = [x.shape[a] for a in axes]
    outs = [pool.out_size(s, kk, kk, 1, padding) for s, kk in zip(size, k)]
    pads = [pool.same_pads(s, kk, kk, 1) if padding == "same" else (0, 0) for s, kk in zip(size, k)]
    width = [(0, 0)] * x.ndim
    for a, p in zip(axes, pads):
        width[a] = p
    xp = np.pad(x, width, constant_values=-np.inf)
    shape = list(x.shape)
    for a, o in zip(axes, outs):
        shape[a] = o
    want = np.full(shape, -np.inf, x.dtype)
    for idx in itertools.product(*(range(o) for o in outs)):
        for off in itertools.product(*(range(kk) for kk in k)):
            src, dst = [slice(None)] * x.ndim, [slice(None)] * x.ndim
            for a, i, o, kk in zip(axes, idx, off, k):
                src[a], dst[a] = i * kk + o, i
            want[tuple(dst)] = np.maximum(want[tuple(dst)], xp[tuple(src)])
    return want


@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiled_max_pool_matches_window_walk(n):
    """Strides = pool size (the tiled route), odd sizes (a dropped ``valid`` remainder), both
    data formats, window 1 on some axes: exactly the window walk's maxima."""
    rng = np.random.default_rng(n)
    for _ in range(25):
        k = [int(v) for v in rng.integers(1, 4, n)]
        size = [int(kk * rng.integers(1, 4) + rng.integers(0, 3)) for kk in k]
        cf, c = bool(rng.integers(0, 2)), int(rng.integers(1, 5))
        x = rng.normal(size=(2, c, *size) if cf else (2, *size, c)).astype(np.float32)
        axes = list(range(2, 2 + n)) if cf else list(range(1, 1 + n))
        for padding in ("valid", "same"):
            got = pool.pool_nd(
                x,
                mode="max",
                pool_size=k,
                strides=k,
                padding=padding,
                data_format="channels_first" if cf else "channels_last",
            )[0]
            want = _window_walk(x, axes, k, padding)
            assert got.shape == want.shape
            np.testing.assert_array_equal(got, want)
            assert not np.shares_memory(got, x)
