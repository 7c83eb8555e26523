"""Resize2D / CenterCrop / Rescaling (FORMAT.md 5.34-5.36): the op functions against their
definitions written out as plain loops, against ``tf.image.resize`` itself on a grid of sizes
(up, down, mixed, one pixel, unchanged) for every interpolation with and without antialias,
and their load-time and conversion-time refusals. Keras parity is in cases_resize.py."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from rnnconvert.errors import FormatError
from rnnconvert.runtime.ops import OPS
from rnnconvert.runtime.spec import PER_STEP, WHOLE_SEQUENCE, check_node, time_rule
from rnnconvert.runtime.spec.resize import INTERPOLATIONS

SIZES = [(7, 9, 3, 4), (5, 6, 11, 13), (4, 4, 4, 4), (9, 7, 2, 15), (1, 3, 5, 1), (13, 17, 6, 8), (3, 2, 8, 8)]


def _resize(x, size, interpolation="bilinear", antialias=False, aspect="stretch", fill=0.0, fmt="channels_last"):
    cfg = {"output_size": list(size), "interpolation": interpolation, "antialias": antialias, "aspect": aspect}
    return OPS["Resize2D"](x, **cfg, fill_value=fill, data_format=fmt)[0]


def _loops(x, oh, ow, weight):
    """y[b, o, p, c] = sum_{i, j} weight(H, oh, o, i) * weight(W, ow, p, j) * x[b, i, j, c]."""
    b_, h, w, c_ = x.shape
    y = np.zeros((b_, oh, ow, c_))
    for o in range(oh):
        for p in range(ow):
            for i in range(h):
                for j in range(w):
                    wt = weight(h, oh, o, i) * weight(w, ow, p, j)
                    if wt:
                        y[:, o, p, :] += wt * x[:, i, j, :]
    return y


def _nearest(n, m, o, i):
    return float(min(math.floor((o + 0.5) * n / m), n - 1) == i)


def _bilinear(n, m, o, i):
    s = (o + 0.5) * n / m - 0.5
    lo, hi, t = max(math.floor(s), 0), min(math.ceil(s), n - 1), s - math.floor(s)
    return (1 - t) * (i == lo) + t * (i == hi)


def _area(n, m, o, i):
    """Exact overlap of cell i with [o n/m, (o+1) n/m), over n/m (rational arithmetic)."""
    lo, hi = Fraction(o * n, m), Fraction((o + 1) * n, m)
    return float(max(min(Fraction(i + 1), hi) - max(Fraction(i), lo), 0) / Fraction(n, m))


def _lanczos3(n, m, o, i):
    s = (o + 0.5) * n / m
    taps = [k for k in range(n) if abs(k + 0.5 - s) < 3]  # cells in the kernel's support

    def lz(d):
        return 1.0 if d < 1e-3 else 3 * math.sin(math.pi * d) * math.sin(math.pi * d / 3) / (math.pi * d) ** 2

    return lz(abs(i + 0.5 - s)) / sum(lz(abs(k + 0.5 - s)) for k in taps) if i in taps else 0.0


@pytest.mark.parametrize(
    "interp,weight", [("nearest", _nearest), ("bilinear", _bilinear), ("area", _area), ("lanczos3", _lanczos3)]
)
@pytest.mark.parametrize("size", SIZES[:5])
def test_resize_is_the_documented_sum(interp, weight, size):
    h, w, oh, ow = size
    x = np.random.default_rng(1).normal(size=(2, h, w, 3)).astype(np.float32)
    np.testing.assert_allclose(_resize(x, (oh, ow), interp), _loops(x, oh, ow, weight), atol=2e-5)


@pytest.mark.keras
def test_every_interpolation_matches_tf_image_resize():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    for interp in INTERPOLATIONS:
        for antialias in (False, True):
            for h, w, oh, ow in SIZES:
                x = rng.normal(size=(2, h, w, 3)).astype(np.float32)
                want = tf.image.resize(x, (oh, ow), method=interp, antialias=antialias).numpy()
                got = _resize(x, (oh, ow), interp, antialias)
                np.testing.assert_allclose(got, want, atol=1e-5, err_msg=f"{interp} aa={antialias} {h}x{w}->{oh}x{ow}")
                got_cf = _resize(x.transpose(0, 3, 1, 2), (oh, ow), interp, antialias, fmt="channels_first")
                np.testing.assert_allclose(got_cf.transpose(0, 2, 3, 1), want, atol=1e-5)


def test_pad_to_aspect_pads_both_sides_with_half_the_deficit():
    # (2, 5) to a square: P = 5 rows, (5 - 2) // 2 = 1 fill row on each side -> 4 rows, then resized
    x = np.arange(10, dtype=np.float32).reshape(1, 2, 5, 1)
    y = _resize(x, (5, 5), "nearest", aspect="pad", fill=-7.0)[0, :, :, 0]
    rows = [min(math.floor((o + 0.5) * 4 / 5), 3) for o in range(5)]  # over the 4 padded rows
    padded = np.concatenate([np.full((1, 5), -7.0), x[0, :, :, 0], np.full((1, 5), -7.0)])
    np.testing.assert_array_equal(y, padded[rows])


def test_crop_to_aspect_takes_the_central_window():
    x = np.random.default_rng(2).normal(size=(1, 6, 11, 2)).astype(np.float32)
    # target 3x4: rows min(6, 11*3//4=8) = 6, cols min(11, 6*4//3=8) = 8, left (11-8)//2 = 1
    np.testing.assert_allclose(_resize(x, (3, 4), aspect="crop"), _resize(x[:, :, 1:9], (3, 4)), atol=1e-6)


def test_center_crop_crops_when_it_fits_and_smart_resizes_when_not():
    x = np.random.default_rng(3).normal(size=(2, 7, 6, 3)).astype(np.float32)
    cc = OPS["CenterCrop"]
    np.testing.assert_array_equal(cc(x, height=4, width=3, data_format="channels_last")[0], x[:, 1:5, 1:4])
    cf = cc(x.transpose(0, 3, 1, 2), height=4, width=3, data_format="channels_first")[0]
    np.testing.assert_array_equal(cf, x[:, 1:5, 1:4].transpose(0, 3, 1, 2))
    # 9 > 7 rows: crop to the 9:4 aspect (rows 7, cols min(6, 7*4//9=3) from (6-3)//2=1), bilinear resize
    up = cc(x, height=9, width=4, data_format="channels_last")[0]
    np.testing.assert_allclose(up, _loops(x[:, :, 1:4], 9, 4, _bilinear), atol=1e-5)


def test_upsampling_factor_and_rescaling_broadcast():
    x = np.random.default_rng(4).normal(size=(2, 3, 4, 3)).astype(np.float32)
    up = OPS["Resize2D"](
        x, factor=[2, 3], interpolation="nearest", antialias=False, aspect="stretch", data_format="channels_last"
    )[0]
    np.testing.assert_array_equal(up, x.repeat(2, axis=1).repeat(3, axis=2))
    y = OPS["Rescaling"](x, scale=[0.5, 2.0, -1.0], scale_shape=[3], offset=[0.25], offset_shape=[])[0]
    np.testing.assert_allclose(y, x * np.array([0.5, 2.0, -1.0], np.float32) + np.float32(0.25), rtol=1e-6)


def test_rescaling_time_rule():
    def rule(shape, rank):
        return time_rule("Rescaling", {"scale_shape": shape, "offset_shape": []}, {}, rank)

    assert rule([], 3) == PER_STEP
    assert rule([3], 3) == PER_STEP  # per channel of (B, T, C)
    assert rule([4, 3], 3) == WHOLE_SEQUENCE  # varies along T
    assert rule([1, 3], 3) == PER_STEP
    assert rule([3, 1, 1], 5) == PER_STEP  # (B, T, C, H, W) per channel
    assert rule([3, 1, 1], 4) == WHOLE_SEQUENCE  # (B, C, H, W): axis 1 is C


@pytest.mark.parametrize(
    "op,config,match",
    [
        ("Resize2D", {"interpolation": "bilinear", "antialias": False, "aspect": "stretch"}, "exactly one"),
        ("Resize2D", {"output_size": [2, 2], "factor": [2, 2], "interpolation": "bilinear"}, "exactly one"),
        ("Resize2D", {"factor": [2, 2], "interpolation": "bilinear", "aspect": "crop"}, "absolute size"),
        ("Resize2D", {"output_size": [2, 2], "interpolation": "cubic"}, "interpolation must be one of"),
        ("Resize2D", {"output_size": [0, 2], "interpolation": "nearest"}, "output_size"),
        ("CenterCrop", {"height": 2, "width": -1}, "width"),
        ("Rescaling", {"scale": [1.0, 2.0], "scale_shape": [3], "offset": [0.0], "offset_shape": []}, "prod"),
    ],
)
def test_resize_nodes_are_checked_at_load(op, config, match):
    defaults = {
        "Resize2D": {"antialias": False, "aspect": "stretch", "fill_value": 0.0, "data_format": "channels_last"},
        "CenterCrop": {"data_format": "channels_last"},
        "Rescaling": {},
    }[op]
    with pytest.raises(FormatError, match=match):
        check_node(op, {**defaults, **config}, {}, "node 'r'")


@pytest.mark.parametrize(
    "cls,config,match",
    [
        ("Resizing", {"height": 2, "width": 2, "interpolation": "cubic"}, "interpolation='cubic'"),
        ("Resizing", {"height": 2, "width": 2, "crop_to_aspect_ratio": True, "pad_to_aspect_ratio": True}, "together"),
        ("Resizing", {"height": 2, "width": 2, "pad_to_aspect_ratio": True, "fill_mode": "reflect"}, "fill_mode"),
        ("Resizing", {"height": 0, "width": 2}, "height"),
        ("UpSampling2D", {"size": [2, 0]}, "size"),
        ("CenterCrop", {"height": 2}, "width"),
        ("Rescaling", {"scale": [1.0, 2.0]}, "does not broadcast"),
        ("Rescaling", {"scale": "x"}, "scale="),
    ],
)
def test_unsupported_resize_configs_are_refused_by_name(cls, config, match):
    from rnnconvert.converter.graph import GraphBuilder, LayerCall, Tensor, Unsupported
    from rnnconvert.converter.keras_era import Era
    from rnnconvert.converter.layers import LAYER_CONVERTERS

    x = Tensor(("x", 0), (None, 6, 6, 4), "float32")
    call = LayerCall(
        name="r", class_name=cls, config=config, weights=[], weight_names=[], inputs=[x], kwargs={},
        era=Era(3, "3.0.0"), call_index=0,
    )  # fmt: skip
    with pytest.raises(Unsupported, match=match):
        LAYER_CONVERTERS[cls](call, GraphBuilder())


def test_resampling_memory_is_linear_in_the_axis_lengths():
    """A 100,000-cell axis resized to 50,000 builds (m, k) taps, not a (m, n) matrix (40 GB in float64)."""
    import tracemalloc

    from rnnconvert.runtime.ops.resample import axis_taps

    x = np.random.default_rng(5).normal(size=(1, 100_000, 1, 1)).astype(np.float32)
    tracemalloc.start()
    for interp, aa in (("bilinear", False), ("area", False), ("lanczos3", True)):
        y = _resize(x, (50_000, 1), interp, aa)
        idx, w = axis_taps(100_000, 50_000, interp, aa)
        assert idx.shape[1] <= 13 and y.shape == (1, 50_000, 1, 1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50e6, f"peak {peak / 1e6:.0f} MB"
