"""The Conv2D / Pool2D / GlobalPool2D op functions against FORMAT.md 5.24-5.25 written out
as plain loops (an independent oracle), and their load-time checks. Keras parity is in
cases_conv2d.py (every file format, both eras)."""

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


def _pads(n: int, k: int, s: int, d: int, padding: str) -> tuple[int, int]:
    if padding == "valid":
        return 0, 0
    total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def _n_out(n: int, k: int, s: int, d: int, padding: str) -> int:
    return math.ceil(n / s) if padding == "same" else (n - (k - 1) * d - 1) // s + 1


def _conv_loops(x, kernel, bias, strides, dilation, padding, groups):
    """FORMAT.md 5.24 term by term (channels last)."""
    b_, h, w, c_in = x.shape
    kh, kw, cg, c_out = kernel.shape
    (ph, _), (pw, _) = _pads(h, kh, strides[0], dilation[0], padding), _pads(w, kw, strides[1], dilation[1], padding)
    oh = _n_out(h, kh, strides[0], dilation[0], padding)
    ow = _n_out(w, kw, strides[1], dilation[1], padding)
    og = c_out // groups
    y = np.zeros((b_, oh, ow, c_out))
    for b, p, q, o in itertools.product(range(b_), range(oh), range(ow), range(c_out)):
        g, acc = o // og, float(bias[o])
        for i, j, c in itertools.product(range(kh), range(kw), range(cg)):
            r, col = p * strides[0] + i * dilation[0] - ph, q * strides[1] + j * dilation[1] - pw
            if 0 <= r < h and 0 <= col < w:
                acc += float(x[b, r, col, g * cg + c]) * float(kernel[i, j, c, o])
        y[b, p, q, o] = acc
    return y


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize(
    "ksize,strides,dilation,groups",
    [
        ((3, 2), (1, 1), (1, 1), 1),
        ((2, 3), (2, 3), (1, 1), 2),
        ((3, 3), (1, 1), (2, 1), 4),
        ((1, 2), (3, 1), (1, 2), 1),
    ],
)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv2d_is_the_documented_sum(padding, ksize, strides, dilation, groups, data_format):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 7, 6, 4)).astype(np.float32)
    kernel = rng.normal(size=(*ksize, 4 // groups, 8)).astype(np.float32)
    bias = rng.normal(size=8).astype(np.float32)
    want = _conv_loops(x, kernel, bias, strides, dilation, padding, groups)
    xin = np.moveaxis(x, -1, 1) if data_format == "channels_first" else x
    (got,) = OPS["Conv2D"](
        xin,
        kernel=kernel,
        bias=bias,
        strides=list(strides),
        padding=padding,
        dilation_rate=list(dilation),
        groups=groups,
        data_format=data_format,
        activation=LINEAR,
    )
    got = np.moveaxis(got, 1, -1) if data_format == "channels_first" else got
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_same_pooling_ignores_the_padding():
    x = np.arange(1, 1 + 5 * 4, dtype=np.float32).reshape(1, 5, 4, 1) * -1.0  # all negative
    (mx,) = OPS["Pool2D"](x, mode="max", pool_size=[2, 3], strides=[2, 2], padding="same")
    (av,) = OPS["Pool2D"](x, mode="average", pool_size=[2, 3], strides=[2, 2], padding="same")
    # rows: total = (3-1)*2 + 2 - 5 = 1 -> (0, 1); cols: total = (2-1)*2 + 3 - 4 = 1 -> (0, 1)
    assert mx.shape == av.shape == (1, 3, 2, 1)
    img = x[0, :, :, 0]
    for p, q in itertools.product(range(3), range(2)):
        cells = img[2 * p : 2 * p + 2, 2 * q : 2 * q + 3]  # slicing drops the padded cells
        assert mx[0, p, q, 0] == cells.max()
        np.testing.assert_allclose(av[0, p, q, 0], cells.mean(), rtol=1e-6)


def test_global_pool2d_keepdims_both_formats():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype(np.float32)
    (a,) = OPS["GlobalPool2D"](x, mode="average", keepdims=True, data_format="channels_last")
    (m,) = OPS["GlobalPool2D"](x, mode="max", keepdims=False, data_format="channels_first")
    assert a.shape == (2, 1, 1, 5) and m.shape == (2, 3)
    np.testing.assert_allclose(a[:, 0, 0], x.mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_array_equal(m, x.max(axis=(2, 3)))


def _config(**over):
    config = {
        "filters": 4,
        "strides": [1, 1],
        "padding": "same",
        "dilation_rate": [1, 1],
        "groups": 1,
        "data_format": "channels_last",
        "activation": {"type": "linear"},
        "use_bias": True,
    }
    return {**config, **over}


@pytest.mark.parametrize(
    "config,kernel,match",
    [
        (_config(), (3, 3, 2, 5), "kernel must be"),
        (_config(groups=3), (3, 3, 2, 4), "divisible by groups"),
        (_config(strides=[1]), (3, 3, 2, 4), "strides"),
        (_config(padding="causal"), (3, 3, 2, 4), "padding"),
        (_config(data_format="NHWC"), (3, 3, 2, 4), "data_format"),
        ({**_config(), "kernel_size": [3, 3]}, (3, 3, 2, 4), "unknown config key"),
    ],
)
def test_conv2d_nodes_are_checked_at_load(config, kernel, match):
    weights = {"kernel": np.zeros(kernel, np.float32), "bias": np.zeros(4, np.float32)}
    with pytest.raises(FormatError, match=match):
        check_node("Conv2D", config, weights, "node 'c'")


def test_a_bundle_stamped_before_1_2_cannot_use_the_2d_ops():
    doc = {"format_version": "1.1.0", "nodes": [{"op": "Pool2D"}, {"op": "LSTM"}]}
    with pytest.raises(FormatError, match=r"'Pool2D' \(added in format 1.2.0\)"):
        check_features(doc)


@pytest.mark.parametrize(
    "config,match",
    [
        ({"filters": None, "kernel_size": 3}, "filters=None"),
        ({"filters": 2, "kernel_size": [3, 0]}, "kernel_size"),
        ({"filters": 2, "kernel_size": "3"}, "kernel_size"),
        ({"filters": 2, "kernel_size": 3, "groups": 0}, "groups"),
        ({"filters": 3, "kernel_size": 3, "groups": 2}, "must divide"),
        ({"filters": 2, "kernel_size": 3, "padding": "full"}, "padding='full'"),
        ({"filters": 2, "kernel_size": 3, "data_format": "NCHW"}, "data_format"),
    ],
)
def test_malformed_conv2d_configs_are_refused_by_name(config, match):
    from rnnconvert.converter.graph import GraphBuilder, LayerCall, Tensor, Unsupported
    from rnnconvert.converter.keras_era import Era
    from rnnconvert.converter.layers import LAYER_CONVERTERS

    x = Tensor(("x", 0), (None, 6, 6, 4), "float32")
    call = LayerCall(
        name="c", class_name="Conv2D", config=config, weights=[], weight_names=[], inputs=[x], kwargs={},
        era=Era(3, "3.0.0"), call_index=0,
    )  # fmt: skip
    with pytest.raises(Unsupported, match=match):
        LAYER_CONVERTERS["Conv2D"](call, GraphBuilder())
