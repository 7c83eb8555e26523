"""Conv3D, ConvTranspose and grouped Conv1D op functions against FORMAT.md 5.26-5.28 written
out as plain loops (an independent oracle), the transposed convolution also as the adjoint of
the forward convolution, and the load-time checks. Keras parity is in cases_conv.py."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from rnnconvert.errors import FormatError
from rnnconvert.runtime.ops import OPS
from rnnconvert.runtime.spec import check_node
from rnnconvert.schema import check_features

LINEAR = {"type": "linear"}


def _before(n: int, k: int, s: int, d: int, padding: str) -> int:
    if padding == "valid":
        return 0
    if padding == "causal":
        return (k - 1) * d
    return max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0) // 2


def _n_out(n: int, k: int, s: int, d: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(n / s)
    if padding == "causal":
        return (n - 1) // s + 1
    return (n - (k - 1) * d - 1) // s + 1


def _conv_loops(x, kernel, bias, strides, dilation, padding, groups):
    """5.24 / 5.26 term by term on any number of spatial axes (channels last)."""
    n = kernel.ndim - 2
    sizes, cg, c_out = x.shape[1:-1], kernel.shape[n], kernel.shape[-1]
    ks = kernel.shape[:n]
    pads = [_before(sizes[a], ks[a], strides[a], dilation[a], padding) for a in range(n)]
    outs = [_n_out(sizes[a], ks[a], strides[a], dilation[a], padding) for a in range(n)]
    og = c_out // groups
    y = np.zeros((x.shape[0], *outs, c_out))
    for b, p, o in itertools.product(range(x.shape[0]), itertools.product(*map(range, outs)), range(c_out)):
        g, acc = o // og, float(bias[o]) if bias is not None else 0.0
        for k in itertools.product(*map(range, ks)):
            r = [p[a] * strides[a] + k[a] * dilation[a] - pads[a] for a in range(n)]
            if all(0 <= r[a] < sizes[a] for a in range(n)):
                for c in range(cg):
                    acc += float(x[(b, *r, g * cg + c)]) * float(kernel[(*k, c, o)])
        y[(b, *p, o)] = acc
    return y


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize(
    "ksize,strides,dilation,groups",
    [((3, 2, 2), (1, 2, 3), (1, 1, 1), 1), ((2, 3, 1), (1, 1, 1), (2, 1, 3), 2), ((4, 4, 4), (2, 2, 2), (1, 1, 1), 4)],
)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv3d_is_the_documented_sum(padding, ksize, strides, dilation, groups, data_format):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 5, 4, 6, 4)).astype(np.float32)
    kernel = rng.normal(size=(*ksize, 4 // groups, 4)).astype(np.float32)
    bias = rng.normal(size=4).astype(np.float32)
    want = _conv_loops(x, kernel, bias, strides, dilation, padding, groups)
    cf = data_format == "channels_first"
    (got,) = OPS["Conv3D"](
        np.moveaxis(x, -1, 1) if cf else x,
        kernel=kernel,
        bias=bias,
        strides=list(strides),
        padding=padding,
        dilation_rate=list(dilation),
        groups=groups,
        data_format=data_format,
        activation=LINEAR,
    )
    got = np.moveaxis(got, 1, -1) if cf else got
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize("k,s,d,groups", [(3, 1, 1, 2), (2, 2, 1, 4), (3, 1, 2, 2)])
def test_grouped_conv1d_is_the_documented_sum(padding, k, s, d, groups):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 9, 4)).astype(np.float32)
    kernel = rng.normal(size=(k, 4 // groups, 8)).astype(np.float32)
    bias = rng.normal(size=8).astype(np.float32)
    (got,) = OPS["Conv1D"](
        x, kernel=kernel, bias=bias, strides=s, padding=padding, dilation_rate=d, groups=groups, activation=LINEAR
    )
    np.testing.assert_allclose(got, _conv_loops(x, kernel, bias, [s], [d], padding, groups), rtol=1e-5, atol=1e-5)


def _transpose_out(n, k, s, d, padding, a):
    span = (k - 1) * d + 1
    return (n - 1) * s + (span if padding == "valid" else span % 2) + a


def _transpose_loops(x, kernel, strides, dilation, padding, out_pad):
    """5.27 term by term: y[q] = sum over i, k with i*s + k*d - P = q of x[i] @ kernel[k]."""
    n = kernel.ndim - 2
    sizes, ks = x.shape[1:-1], kernel.shape[:n]
    outs = [_transpose_out(sizes[a], ks[a], strides[a], dilation[a], padding, out_pad[a]) for a in range(n)]
    before = [_before(outs[a], ks[a], strides[a], dilation[a], padding) for a in range(n)]
    y = np.zeros((x.shape[0], *outs, kernel.shape[-1]))
    for b, i, k in itertools.product(
        range(x.shape[0]), itertools.product(*map(range, sizes)), itertools.product(*map(range, ks))
    ):
        q = [i[a] * strides[a] + k[a] * dilation[a] - before[a] for a in range(n)]
        if all(0 <= q[a] < outs[a] for a in range(n)):
            y[(b, *q)] += x[(b, *i)].astype(np.float64) @ kernel[k].astype(np.float64)
    return y


_TRANSPOSED = [
    ((3,), (2,), (1,), (0,)),
    ((4,), (3,), (1,), (2,)),
    ((3,), (1,), (2,), (0,)),
    ((3, 2), (2, 3), (1, 1), (1, 0)),
    ((2, 3), (1, 1), (2, 1), (0, 0)),
    ((2, 1, 3), (2, 2, 1), (1, 1, 1), (1, 1, 0)),
]


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("ksize,strides,dilation,out_pad", _TRANSPOSED)
def test_conv_transpose_is_the_documented_sum(padding, ksize, strides, dilation, out_pad):
    rng = np.random.default_rng(7)
    n = len(ksize)
    x = rng.normal(size=(2, *(5, 4, 3)[:n], 3)).astype(np.float32)
    kernel = rng.normal(size=(*ksize, 3, 2)).astype(np.float32)
    bias = rng.normal(size=2).astype(np.float32)
    config = dict(strides=list(strides), padding=padding, output_padding=list(out_pad), dilation_rate=list(dilation))
    (got,) = OPS["ConvTranspose"](x, kernel=kernel, bias=bias, activation=LINEAR, **config)
    want = _transpose_loops(x, kernel, strides, dilation, padding, out_pad) + bias
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    (cf,) = OPS["ConvTranspose"](np.moveaxis(x, -1, 1), kernel=kernel, bias=bias, activation=LINEAR,
                                 data_format="channels_first", **config)  # fmt: skip
    np.testing.assert_allclose(np.moveaxis(cf, 1, -1), got, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("k,s", [(3, 2), (2, 2), (5, 3), (1, 2)])
def test_conv_transpose_is_the_adjoint_of_the_convolution(padding, k, s):
    """Without output padding beyond Keras's default, <conv(u), v> = <u, conv_transpose(v)>:
    the transposed convolution is the forward convolution's gradient, as TensorFlow computes it."""
    rng = np.random.default_rng(8)
    span = k
    a = max(span, s) - span if padding == "valid" else s - span % 2
    v = rng.normal(size=(1, 4, 3))
    o = _transpose_out(4, k, s, 1, padding, a)
    u = rng.normal(size=(1, o, 2))
    kernel = rng.normal(size=(k, 3, 2))  # transposed: (K, C_in = 3, C_out = 2)
    forward = _conv_loops(u, np.swapaxes(kernel, 1, 2), None, [s], [1], padding, 1)  # O cells -> 4 cells
    assert forward.shape == v.shape
    (t,) = OPS["ConvTranspose"](v, kernel=kernel, strides=[s], padding=padding, output_padding=[a],
                                dilation_rate=[1], activation=LINEAR)  # fmt: skip
    np.testing.assert_allclose(np.sum(forward * v), np.sum(u * t), rtol=1e-9)


def _tconfig(**over):
    config = {
        "filters": 2,
        "kernel_size": [3, 2],
        "strides": [1, 2],
        "padding": "same",
        "output_padding": [0, 1],
        "dilation_rate": [1, 1],
        "data_format": "channels_last",
        "activation": LINEAR,
        "use_bias": True,
    }
    return {**config, **over}


@pytest.mark.parametrize(
    "op,config,kernel,match",
    [
        ("ConvTranspose", _tconfig(), (3, 2, 4, 2), None),
        ("ConvTranspose", _tconfig(kernel_size=[3, 3]), (3, 2, 4, 2), "kernel must be"),
        ("ConvTranspose", _tconfig(output_padding=[0]), (3, 2, 4, 2), "one entry per spatial axis"),
        ("ConvTranspose", _tconfig(filters=3), (3, 2, 4, 2), "kernel must be"),
        ("ConvTranspose", _tconfig(output_padding=[0, -1]), (3, 2, 4, 2), "output_padding"),
        ("ConvTranspose", _tconfig(strides=[1, 2, 1, 1]), (3, 2, 4, 2), "strides"),
        ("Conv3D", {**_tconfig(), "strides": [1, 1, 1]}, (3, 3, 3, 4, 2), "unknown config key"),
    ],
)
def test_new_conv_nodes_are_checked_at_load(op, config, kernel, match):
    weights = {"kernel": np.zeros(kernel, np.float32), "bias": np.zeros(2, np.float32)}
    if match is None:
        check_node(op, config, weights, "node 'c'")
        return
    with pytest.raises(FormatError, match=match):
        check_node(op, config, weights, "node 'c'")


def test_a_bundle_stamped_before_1_3_cannot_use_the_new_ops():
    doc = {"format_version": "1.2.0", "nodes": [{"op": "ConvTranspose"}]}
    with pytest.raises(FormatError, match=r"'ConvTranspose' \(added in format 1.3.0\)"):
        check_features(doc)


def test_max_elements_sizes_a_transposed_output_before_it_runs():
    """A ConvTranspose declaring free spatial axes still cannot allocate past max_elements:
    its output is sized from kernel_size / strides / output_padding before the node runs."""
    from rnnconvert.errors import ResourceError
    from rnnconvert.runtime.model import Model

    doc = {
        "format": "rnnconvert.bundle",
        "format_version": "1.3.0",
        "inputs": [{"name": "x", "shape": [None, None, 2], "dtype": "float32"}],
        "outputs": [{"name": "y", "from": ["t", 0], "shape": [None, None, 2], "dtype": "float32"}],
        "nodes": [
            {
                "name": "t",
                "op": "ConvTranspose",
                "inputs": [["x", 0]],
                "config": {**_tconfig(kernel_size=[3], strides=[1000], output_padding=[0], dilation_rate=[1]),
                           "padding": "valid"},
                "weights": {"kernel": "t/kernel"},
                "outputs": [{"shape": [None, None, 2], "dtype": "float32"}],
            }
        ],
    }  # fmt: skip
    doc["nodes"][0]["config"]["use_bias"] = False
    model = Model.from_arrays(doc, {"t/kernel": np.ones((3, 2, 2), np.float32)}, max_elements=100_000)
    node = next(n for n in model.nodes if n.name == "t")
    node.call = lambda *a, **k: pytest.fail("the node ran")  # refused before it allocates
    with pytest.raises(ResourceError, match=r"'t' \(ConvTranspose\) would hold 118,006"):
        model.predict(np.ones((1, 60, 2), np.float32))


@pytest.mark.keras
@pytest.mark.parametrize("dtype", ["float16", "int8"])
def test_quantized_new_kernels_per_output_channel_are_parity_with_keras(tmp_path, dtype):
    """int8 scales run along the stored kernels' last axis = output channels (the transposed
    kernel is stored (*K, C_in, filters) for that); Keras given the stored weights (mapped back
    to its layouts) computes what the bundle computes."""
    import keras
    from conftest import assert_parity
    from keras_zoo import eager, randomize
    from test_quantize import _stored_as_float32

    from rnnconvert.converter import convert
    from rnnconvert.runtime import load

    x = keras.Input((5, 6, 3))
    v = keras.Input((3, 4, 4, 2))
    layers = [
        keras.layers.SeparableConv2D(4, 3, depth_multiplier=2, padding="same"),
        keras.layers.Conv2DTranspose(3, 3, strides=2),
        keras.layers.Conv3D(2, 2),
        keras.layers.Conv3DTranspose(2, 2, strides=(1, 2, 2), data_format="channels_first"),
    ]
    m = keras.Model([x, v], [layers[1](layers[0](x)), layers[3](layers[2](v))])
    rng = np.random.default_rng(9)
    randomize(m, rng)
    inputs = [rng.normal(size=(2, 5, 6, 3)).astype(np.float32), rng.normal(size=(2, 3, 4, 4, 2)).astype(np.float32)]
    src = tmp_path / "m.keras"
    m.save(src)
    convert(src, tmp_path / "b", dtype=dtype)
    doc = load(tmp_path / "b").doc
    stored = _stored_as_float32(tmp_path / "b")
    for key, spec in doc["weights"]["arrays"].items():
        if dtype == "int8" and key.endswith("kernel") and not key.startswith("__"):
            assert spec["quantization"]["axis"] == stored[key].ndim - 1, key
    sep, t2, c3, t3 = (layer.name for layer in layers)
    layers[0].set_weights(
        [
            stored[f"{sep}/depthwise/kernel"].reshape(3, 3, 3, 2),
            stored[f"{sep}/pointwise/kernel"],
            stored[f"{sep}/pointwise/bias"],
        ]
    )
    layers[1].set_weights([np.swapaxes(stored[f"{t2}/kernel"], -1, -2), stored[f"{t2}/bias"]])
    layers[2].set_weights([stored[f"{c3}/kernel"], stored[f"{c3}/bias"]])
    layers[3].set_weights([np.swapaxes(stored[f"{t3}/kernel"], -1, -2), stored[f"{t3}/bias"]])
    expected = [np.asarray(y, np.float32) for y in eager(m, inputs)]
    assert_parity(load(tmp_path / "b").predict(inputs), expected, f"conv {dtype}")
