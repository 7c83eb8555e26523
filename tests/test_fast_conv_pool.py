"""A convolution fused with the max pooling that alone reads it (runtime/fast/conv_pool.py)
computes what the two reference ops compute one after the other, and the plan fuses only
where nothing else reads the convolution's output.

The op-level tests compare the fused call with the reference Conv2D / Conv3D op followed by
the reference pooling op (itself checked against a brute-force window walk in
test_fast_conv.py), without Keras: every patch layout, padding, stride, dilation, pool
window, both activations it takes, row slabs and whole images, and every fallback. The
model-level tests compare ``predict`` and frame-by-frame ``step`` with live Keras on models
where the plan fuses and where it must not. No timing asserts.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import tolerance
from helpers import conv_case

from rnnconvert.runtime.fast import conv as conv_module
from rnnconvert.runtime.fast import conv_pool, prepare_fast
from rnnconvert.runtime.ops import pool
from rnnconvert.runtime.ops.convnd import conv


def _case(rng, n, *, padding, stride, dilation, act, use_bias=True, c_in=3, c_out=5, size=9, batch=2, k=3):
    kw = {"use_bias": use_bias, "k": k, "c_in": c_in, "c_out": c_out, "size": size, "batch": batch}
    return conv_case(rng, n, padding=padding, stride=stride, dilation=dilation, act={"type": act}, **kw)


def _fused(config, weights, k, padding, op="Conv2D"):
    fast = prepare_fast(op, config, weights)
    assert isinstance(fast, conv_module._Conv)
    return conv_pool.ConvPool(fast, k, padding)


def _want(x, config, weights, k, padding):
    y = conv(x, **weights, **config)[0]
    return pool.pool_nd(y, mode="max", pool_size=k, strides=k, padding=padding)[0]


def _check(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=0, atol=tolerance(want))


def _no_fallback(monkeypatch, cp):
    def refuse(x):
        raise AssertionError("the unfused route ran")

    monkeypatch.setattr(cp, "unfused", refuse)


POOLS = {2: [[2, 2], [3, 2], [2, 1], [1, 1]], 3: [[2, 2, 2], [1, 2, 3]]}


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("c_in", [1, conv_module.CHANNEL_RUNS + 1])  # both patch layouts
@pytest.mark.parametrize("padding,stride,dilation", [("same", 1, 1), ("valid", 1, 1), ("same", 2, 1), ("valid", 1, 2)])
def test_fused_conv_pool_matches_conv_then_pool(monkeypatch, n, c_in, padding, stride, dilation):
    """``valid`` pooling (a remainder dropped on the odd axes) always takes the fused pass."""
    rng = np.random.default_rng(n * 1000 + c_in * 10 + stride + dilation + (padding == "same"))
    for k, act, use_bias, batch in itertools.product(POOLS[n], ["relu", "linear"], [True, False], [1, 3]):
        x, config, weights = _case(
            rng,
            n,
            padding=padding,
            stride=stride,
            dilation=dilation,
            act=act,
            use_bias=use_bias,
            c_in=c_in,
            batch=batch,
        )
        cp = _fused(config, weights, k, "valid", "Conv2D" if n == 2 else "Conv3D")
        _no_fallback(monkeypatch, cp)
        _check(cp(x)[0], _want(x, config, weights, k, "valid"))


@pytest.mark.parametrize("elements", [1, 300, 5000])
@pytest.mark.parametrize("c_in", [1, conv_module.CHANNEL_RUNS])
def test_fused_blocks_rows_and_images(monkeypatch, elements, c_in):
    """Slabs of pooled rows (one or several), several images a block: the same numbers."""
    monkeypatch.setattr(conv_module, "PATCH_ELEMENTS", elements)
    rng = np.random.default_rng(elements + c_in)
    x, config, weights = _case(rng, 2, padding="same", stride=1, dilation=1, act="relu", c_in=c_in, batch=5, size=12)
    for k in ([2, 2], [3, 2]):
        cp = _fused(config, weights, k, "valid")
        _no_fallback(monkeypatch, cp)
        _check(cp(x)[0], _want(x, config, weights, k, "valid"))


def test_same_pooling_fuses_only_where_it_would_not_pad(monkeypatch):
    """``same`` pooling over axes the window divides is the ``valid`` one: fused; over an
    axis it does not divide it pads: the unfused route, the same numbers."""
    rng = np.random.default_rng(11)
    x, config, weights = _case(rng, 2, padding="same", stride=1, dilation=1, act="relu", size=8)  # (8, 9)
    cp = _fused(config, weights, [2, 3], "same")
    _no_fallback(monkeypatch, cp)
    _check(cp(x)[0], _want(x, config, weights, [2, 3], "same"))
    cp = _fused(config, weights, [2, 2], "same")  # 9 is odd
    calls = []
    real = cp.unfused
    monkeypatch.setattr(cp, "unfused", lambda x: calls.append(1) or real(x))
    _check(cp(x)[0], _want(x, config, weights, [2, 2], "same"))
    assert calls == [1]


def test_fused_fallbacks(monkeypatch):
    """Inputs the fused pass does not take run the convolution then the pooling: float64
    (NumPy's promotion, as the reference ops), a patch row over PATCH_LIMIT."""
    rng = np.random.default_rng(12)
    x, config, weights = _case(rng, 2, padding="same", stride=1, dilation=1, act="relu")
    cp = _fused(config, weights, [2, 2], "valid")
    x64 = x.astype(np.float64)
    got = cp(x64)[0]
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, _want(x64, config, weights, [2, 2], "valid"))
    monkeypatch.setattr(conv_module, "PATCH_LIMIT", 50)
    _check(cp(x)[0], _want(x, config, weights, [2, 2], "valid"))


def test_fused_block_never_passes_patch_limit(monkeypatch):
    """One pooled row's product (window x pooled cells x C_out values) over PATCH_LIMIT, where
    one output row's patches alone are under it: the unfused route, the same numbers."""
    rng = np.random.default_rng(16)
    x, config, weights = _case(rng, 2, padding="same", stride=1, dilation=1, act="relu", c_out=40)  # out (9, 10)
    monkeypatch.setattr(conv_module, "PATCH_LIMIT", 500)  # patches of a row: 10 x 28; a pooled row: 4 x 5 x 40
    cp = _fused(config, weights, [2, 2], "valid")
    calls = []
    real = cp.unfused
    monkeypatch.setattr(cp, "unfused", lambda x: calls.append(1) or real(x))
    _check(cp(x)[0], _want(x, config, weights, [2, 2], "valid"))
    assert calls == [1]


def test_fused_nan_and_relu_commute():
    """Max then ReLU is ReLU then max, NaN included (np.maximum propagates it either way)."""
    rng = np.random.default_rng(13)
    x, config, weights = _case(rng, 2, padding="same", stride=1, dilation=1, act="relu")
    x[0, 3, 4, 1] = np.nan
    cp = _fused(config, weights, [2, 2], "valid")
    got, want = cp(x)[0], _want(x, config, weights, [2, 2], "valid")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=0, atol=tolerance(want[fin]))


# -- the plan's fusion, against live Keras ------------------------------------------------------


def _keras_models(keras, rng):
    """One functional model where every pairing the plan must judge occurs, and an LRCN."""
    from keras_zoo import randomize

    L = keras.layers
    img = keras.Input((13, 17, 3))
    a = L.Conv2D(4, 3, padding="same", activation="relu", name="c_fused")(img)
    a = L.MaxPooling2D(2, name="p_fused")(a)  # odd sizes: a remainder dropped
    a = L.Conv2D(5, (3, 2), padding="valid", name="c_linear")(a)
    a = L.MaxPooling2D((2, 3), padding="same", name="p_linear")(a)  # (4, 7): pads -> unfused route at call
    b = L.Conv2D(3, 3, padding="same", activation="relu", name="c_two_readers")(img)
    b1 = L.MaxPooling2D(2, name="p_two_readers")(b)
    b2 = L.GlobalMaxPooling2D(name="g_two_readers")(b)
    c = L.Conv2D(3, 3, activation="relu", name="c_model_output")(img)
    c1 = L.MaxPooling2D(2, name="p_model_output")(c)
    d = L.Conv2D(3, 3, activation="tanh", name="c_tanh")(img)
    d = L.MaxPooling2D(2, name="p_tanh")(d)
    e = L.Conv2D(3, 3, activation="relu", name="c_avg")(img)
    e = L.AveragePooling2D(2, name="p_avg")(e)
    f = L.Conv2D(3, 3, activation="relu", name="c_overlap")(img)
    f = L.MaxPooling2D(3, strides=2, name="p_overlap")(f)
    vol = keras.Input((6, 7, 8, 2))
    v = L.Conv3D(4, 2, padding="same", activation="relu", name="c3_fused")(vol)
    v = L.MaxPooling3D((2, 2, 3), name="p3_fused")(v)
    model = keras.Model([img, vol], [a, b1, b2, c, c1, d, e, f, v])
    lrcn = keras.Sequential(
        [
            keras.Input((None, 10, 9, 2)),
            L.TimeDistributed(L.Conv2D(4, 3, padding="same", activation="relu"), name="td_conv"),
            L.TimeDistributed(L.MaxPooling2D(2), name="td_pool"),
            L.TimeDistributed(L.Flatten()),
            L.LSTM(5),
            L.Dense(3),
        ]
    )
    for m in (model, lrcn):
        randomize(m, rng, 0.3)
    return model, lrcn


@pytest.mark.keras
def test_plan_fuses_only_sole_readers_and_matches_keras(tmp_path):
    import keras
    from conftest import assert_parity
    from keras_zoo import eager

    from rnnconvert.converter import convert
    from rnnconvert.runtime import load

    rng = np.random.default_rng(14)
    model, lrcn = _keras_models(keras, rng)
    model.save(tmp_path / "m.keras")
    convert(tmp_path / "m.keras", tmp_path / "m")
    ours = load(tmp_path / "m")
    fused = {n.name for n in ours.nodes if n.fused}
    assert fused == {"c_fused", "p_fused", "c_linear", "p_linear", "c3_fused", "p3_fused"}
    for batch in (1, 3):
        x = [rng.normal(size=(batch, 13, 17, 3)).astype(np.float32), rng.normal(size=(batch, 6, 7, 8, 2))]
        x[1] = x[1].astype(np.float32)
        assert_parity(ours.predict(x), eager(model, x), f"fusion model, batch {batch}")
    # The bundle's declared shapes stay as they were (tools evaluate the reference ops).
    node = next(n for n in ours.nodes if n.name == "c_fused")
    assert node.out_shapes[0][1:] == (13, 17, 4) and node.call_shapes[0][1:] == (6, 8, 4)

    lrcn.save(tmp_path / "l.keras")
    convert(tmp_path / "l.keras", tmp_path / "l")
    ours = load(tmp_path / "l")
    assert sum(bool(n.fused) for n in ours.nodes) == 2  # the conv and the pooling, through FoldTime / UnfoldTime
    x = rng.normal(size=(2, 4, 10, 9, 2)).astype(np.float32)
    want = eager(lrcn, x)
    assert_parity(ours.predict(x), want, "LRCN")
    state = ours.initial_state(2)
    for t in range(x.shape[1]):  # frame by frame: the fused pass on one frame at a time
        y, state = ours.step(x[:, t], state)
    assert_parity(y, want, "LRCN streamed")


@pytest.mark.keras
def test_fused_nodes_keep_the_memory_bound(tmp_path):
    """A fused node is sized from the shapes its call gives (the pooling op's size rule,
    applied to the pooled tensor it passes on, would contradict its declared shape): calls
    run, and one over ``max_elements`` is refused with ResourceError."""
    import keras
    from keras_zoo import randomize

    from rnnconvert.converter import convert
    from rnnconvert.errors import ResourceError
    from rnnconvert.runtime import load

    L = keras.layers
    m = keras.Sequential(
        [keras.Input((None, 12, 3)), L.Conv2D(8, 3, padding="same", activation="relu"), L.MaxPooling2D(2)]
    )
    randomize(m, np.random.default_rng(15))
    m.save(tmp_path / "m.keras")
    convert(tmp_path / "m.keras", tmp_path / "m")
    x = np.ones((1, 40, 12, 3), np.float32)
    ours = load(tmp_path / "m")
    assert any(n.fused for n in ours.nodes)
    assert ours.predict(x).shape == (1, 20, 6, 8)
    assert ours.estimate(x).elements >= x.size + 20 * 6 * 8
    ours.max_elements = x.size + 20 * 6 * 8 - 1  # not even the input and the pooled output
    with pytest.raises(ResourceError):
        ours.predict(x)
