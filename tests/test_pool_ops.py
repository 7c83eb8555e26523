"""The pool helper's ops (Pool3D, GlobalPool3D, AdaptivePool, ZeroPadding, Cropping,
UpSampling3D) against FORMAT.md 5.30-5.33 written out as plain loops (an independent oracle),
their load-time checks, the converter's refusals, Keras 1 files of these layers against
tf_keras, and streaming of TimeDistributed around them. Keras parity in every file format
is in cases_pool.py."""

from __future__ import annotations

import copy
import itertools
import math
from fractions import Fraction
from pathlib import Path

import keras1_files as k1
import numpy as np
import pytest
from conftest import assert_parity

from rnnconvert.errors import FormatError, InputError
from rnnconvert.runtime.ops import OPS
from rnnconvert.runtime.spec import check_node
from rnnconvert.schema import check_features


def _box_pool(x, lo_hi, mode):
    """x (B, *S, C) channels last; lo_hi[a][i] = (lo, hi) real cells of output cell i on axis a."""
    outs = [len(r) for r in lo_hi]
    y = np.zeros((x.shape[0], *outs, x.shape[-1]))
    for b, cell, c in itertools.product(
        range(x.shape[0]), itertools.product(*(range(n) for n in outs)), range(x.shape[-1])
    ):
        vals = [float(x[(b, *src, c)]) for src in itertools.product(*(range(*lo_hi[a][i]) for a, i in enumerate(cell)))]
        y[(b, *cell, c)] = max(vals) if mode == "max" else sum(vals) / len(vals)
    return y


def _pool_windows(n, k, s, padding):
    """FORMAT.md 5.30: each output cell's real cells along one axis."""
    if padding == "same":
        n_out, total = math.ceil(n / s), max((math.ceil(n / s) - 1) * s + k - n, 0)
        before = total // 2
    else:
        n_out, before = (n - k) // s + 1, 0
    return [(max(p * s - before, 0), min(p * s - before + k, n)) for p in range(n_out)]


def _cf(x, data_format):
    return np.moveaxis(x, -1, 1) if data_format == "channels_first" else x


def _cl(y, data_format):
    return np.moveaxis(y, 1, -1) if data_format == "channels_first" else y


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("pool,strides", [((2, 2, 2), (2, 2, 2)), ((3, 1, 2), (1, 2, 3)), ((4, 5, 3), (2, 1, 1))])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_pool3d_is_the_documented_box(padding, mode, pool, strides, data_format):
    x = np.random.default_rng(5).normal(size=(2, 5, 6, 3, 2)).astype(np.float32) - 0.5
    if padding == "valid" and any(k > n for k, n in zip(pool, x.shape[1:4])):
        pytest.skip("Keras refuses a valid pool larger than the input")
    want = _box_pool(x, [_pool_windows(n, k, s, padding) for n, k, s in zip(x.shape[1:4], pool, strides)], mode)
    (got,) = OPS["Pool3D"](
        _cf(x, data_format), mode=mode, pool_size=list(pool), strides=list(strides), padding=padding,
        data_format=data_format,
    )  # fmt: skip
    assert got.dtype == np.float32
    np.testing.assert_allclose(_cl(got, data_format), want, rtol=1e-5, atol=1e-6)


def test_same_max_pool3d_never_picks_the_padding():
    x = -np.arange(1, 1 + 3 * 4 * 5, dtype=np.float32).reshape(1, 3, 4, 5, 1)  # all negative
    (y,) = OPS["Pool3D"](x, mode="max", pool_size=[2, 3, 4], strides=[1, 1, 1], padding="same")
    assert y.shape == x.shape and (y < 0).all()


def _adaptive_windows(n, o):
    """FORMAT.md 5.31 in exact rationals: [floor(i n / o), ceil((i + 1) n / o))."""
    return [(math.floor(Fraction(i * n, o)), math.ceil(Fraction((i + 1) * n, o))) for i in range(o)]


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize(
    "spatial,out",
    [((7,), (3,)), ((7,), (5,)), ((3,), (5,)), ((7, 10), (3, 4)), ((6, 4), (6, 1)), ((5, 6, 4), (2, 4, 3))],
)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_adaptive_pool_is_the_documented_box(mode, spatial, out, data_format):
    x = np.random.default_rng(7).normal(size=(2, *spatial, 3)).astype(np.float32)
    want = _box_pool(x, [_adaptive_windows(n, o) for n, o in zip(spatial, out)], mode)
    (got,) = OPS["AdaptivePool"](_cf(x, data_format), mode=mode, output_size=list(out), data_format=data_format)
    np.testing.assert_allclose(_cl(got, data_format), want, rtol=1e-5, atol=1e-6)


def test_global_pool3d_keepdims_both_formats():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5, 6)).astype(np.float32)
    (a,) = OPS["GlobalPool3D"](x, mode="average", keepdims=True, data_format="channels_last")
    (m,) = OPS["GlobalPool3D"](x, mode="max", keepdims=False, data_format="channels_first")
    assert a.shape == (2, 1, 1, 1, 6) and m.shape == (2, 3)
    np.testing.assert_allclose(a[:, 0, 0, 0], x.mean(axis=(1, 2, 3)), rtol=1e-6)
    np.testing.assert_array_equal(m, x.max(axis=(2, 3, 4)))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_padding_cropping_upsampling_cell_by_cell(data_format):
    x = np.random.default_rng(1).normal(size=(2, 3, 4, 2, 3)).astype(np.float32)  # channels last
    pads, crops, size = [[1, 0], [0, 2], [2, 1]], [[1, 1], [0, 2], [1, 0]], [2, 1, 3]
    (p,) = OPS["ZeroPadding"](_cf(x, data_format), padding=pads, data_format=data_format)
    (c,) = OPS["Cropping"](_cf(x, data_format), cropping=crops, data_format=data_format)
    (u,) = OPS["UpSampling3D"](_cf(x, data_format), size=size, data_format=data_format)
    p, c, u = _cl(p, data_format), _cl(c, data_format), _cl(u, data_format)
    assert p.shape == (2, 4, 6, 5, 3) and c.shape == (2, 1, 2, 1, 3) and u.shape == (2, 6, 4, 6, 3)
    for i, j, k in itertools.product(*(range(n) for n in p.shape[1:4])):
        src = (i - 1, j, k - 2)
        inside = all(0 <= s < n for s, n in zip(src, x.shape[1:4]))
        np.testing.assert_array_equal(p[:, i, j, k], x[:, src[0], src[1], src[2]] if inside else 0)
    np.testing.assert_array_equal(c[:, 0, :, 0], x[:, 1, 0:2, 1])
    for i, j, k in itertools.product(*(range(n) for n in u.shape[1:4])):
        np.testing.assert_array_equal(u[:, i, j, k], x[:, i // 2, j, k // 3])


def test_2d_padding_and_cropping():
    x = np.arange(2 * 3 * 4 * 1, dtype=np.float32).reshape(2, 3, 4, 1)
    (p,) = OPS["ZeroPadding"](x, padding=[[1, 2], [0, 1]])
    np.testing.assert_array_equal(p[:, 1:4, 0:4], x)
    assert p.shape == (2, 6, 5, 1) and p.sum() == x.sum()
    (c,) = OPS["Cropping"](x, cropping=[[1, 1], [2, 0]])
    np.testing.assert_array_equal(c, x[:, 1:2, 2:4])


def test_bad_inputs_are_input_errors():
    with pytest.raises(InputError, match="rank 4"):
        OPS["Pool3D"](np.zeros((1, 2, 2, 1), np.float32), mode="max", pool_size=[1, 1, 1], strides=[1, 1, 1],
                      padding="valid")  # fmt: skip
    with pytest.raises(InputError, match="cropped"):
        OPS["Cropping"](np.zeros((1, 2, 2, 1), np.float32), cropping=[[2, 1], [0, 0]])
    with pytest.raises(InputError, match="empty"):
        OPS["AdaptivePool"](np.zeros((1, 0, 1), np.float32), mode="max", output_size=[2])


@pytest.mark.parametrize(
    "op,config,match",
    [
        (
            "Pool3D",
            {
                "mode": "max",
                "pool_size": [2, 2],
                "strides": [1, 1, 1],
                "padding": "same",
                "data_format": "channels_last",
            },
            "pool_size",
        ),  # fmt: skip
        (
            "Pool3D",
            {
                "mode": "max",
                "pool_size": [2, 2, 0],
                "strides": [1, 1, 1],
                "padding": "same",
                "data_format": "channels_last",
            },
            "pool_size",
        ),  # fmt: skip
        (
            "Pool3D",
            {
                "mode": "sum",
                "pool_size": [2, 2, 2],
                "strides": [1, 1, 1],
                "padding": "same",
                "data_format": "channels_last",
            },
            "mode",
        ),  # fmt: skip
        ("GlobalPool3D", {"mode": "max", "keepdims": 1, "data_format": "channels_last"}, "keepdims"),
        ("AdaptivePool", {"mode": "max", "output_size": [], "data_format": "channels_last"}, "output_size"),
        ("AdaptivePool", {"mode": "max", "output_size": [1, 1, 1, 1], "data_format": "channels_last"}, "output_size"),
        ("ZeroPadding", {"padding": [[1, 1]], "data_format": "channels_last"}, "padding"),
        ("ZeroPadding", {"padding": [[1, -1], [0, 0]], "data_format": "channels_last"}, "padding"),
        ("Cropping", {"cropping": [[1, 1, 1], [0, 0]], "data_format": "channels_last"}, "cropping"),
        ("UpSampling3D", {"size": [2, 2, 2], "data_format": "NDHWC"}, "data_format"),
        ("UpSampling3D", {"size": [2, 2, 2]}, "lacks data_format"),
    ],
)
def test_pool_nodes_are_checked_at_load(op, config, match):
    with pytest.raises(FormatError, match=match):
        check_node(op, config, {}, "node 'p'")


def test_a_bundle_stamped_before_1_3_cannot_use_the_pool_ops():
    doc = {"format_version": "1.2.0", "nodes": [{"op": "AdaptivePool"}, {"op": "LSTM"}]}
    with pytest.raises(FormatError, match=r"'AdaptivePool' \(added in format 1.3.0\)"):
        check_features(doc)


def _convert_layer(cls, config, shape):
    from rnnconvert.converter.graph import GraphBuilder, LayerCall, Tensor
    from rnnconvert.converter.keras_era import Era
    from rnnconvert.converter.layers import LAYER_CONVERTERS

    x = Tensor(("x", 0), shape, "float32")
    call = LayerCall(
        name="p", class_name=cls, config=config, weights=[], weight_names=[], inputs=[x], kwargs={},
        era=Era(3, "3.0.0"), call_index=0,
    )  # fmt: skip
    return LAYER_CONVERTERS[cls](call, GraphBuilder())


@pytest.mark.parametrize(
    "cls,config,shape,match",
    [
        ("MaxPooling3D", {"pool_size": [2, 2]}, (None, 4, 4, 4, 1), "pool_size"),
        ("MaxPooling3D", {"pool_size": 2, "padding": "causal"}, (None, 4, 4, 4, 1), "padding='causal'"),
        ("AveragePooling3D", {"pool_size": 2, "data_format": "NDHWC"}, (None, 4, 4, 4, 1), "data_format"),
        ("AveragePooling3D", {"pool_size": 2}, (None, 4, 4, 1), "3 spatial axes"),
        ("AdaptiveMaxPooling2D", {"output_size": None}, (None, 4, 4, 1), "output_size=None"),
        ("AdaptiveMaxPooling1D", {"output_size": [2, 2]}, (None, 4, 1), "expected 1 values"),
        ("ZeroPadding2D", {"padding": [[1, 2, 3], [0, 0]]}, (None, 4, 4, 1), "padding"),
        ("ZeroPadding3D", {"padding": -1}, (None, 4, 4, 4, 1), "padding=-1"),
        ("Cropping2D", {"cropping": [[2, 2], [0, 0]]}, (None, 4, 4, 1), "crops all"),
        ("UpSampling3D", {"size": [2, 0, 1]}, (None, 4, 4, 4, 1), "size"),
        ("GlobalMaxPooling3D", {"dim_ordering": "th"}, (None, 4, 4, 4, 1), "dim_ordering"),
    ],
)
def test_malformed_configs_are_refused_by_name(cls, config, shape, match):
    from rnnconvert.converter.graph import Unsupported

    with pytest.raises(Unsupported, match=match):
        _convert_layer(cls, config, shape)


@pytest.mark.parametrize(
    "padding,want",
    [
        (2, [[2, 2], [2, 2]]),
        ([1, 3], [[1, 1], [3, 3]]),
        ([[0, 1], [2, 0]], [[0, 1], [2, 0]]),
        ([1, 2, 3, 4], [[1, 2], [3, 4]]),  # Keras 1: (top, bottom, left, right)
        ({"top_pad": 1, "right_pad": 2}, [[1, 0], [0, 2]]),  # Keras 1's dict
    ],
)
def test_zero_padding2d_reads_every_keras_form(padding, want):
    (y,) = _convert_layer("ZeroPadding2D", {"padding": padding}, (None, 4, 5, 1))
    assert y.shape == (None, 4 + sum(want[0]), 5 + sum(want[1]), 1)


# -- Keras 1 files ---------------------------------------------------------------------------


def _tfk():
    import tf_keras

    return tf_keras


@pytest.mark.keras
@pytest.mark.parametrize("ordering", ["th", "tf"])
def test_keras1_3d_layers_against_tf_keras(tmp_path, ordering):
    """Keras 1.2.2 ``MaxPooling3D`` / ``AveragePooling3D`` (``border_mode``, ``dim_ordering``),
    ``ZeroPadding3D``, ``Cropping3D``, ``UpSampling3D``, ``GlobalMaxPooling3D`` as Keras 1.2.2's
    get_config wrote them; the reference is the same architecture in tf_keras, loading the
    file's Dense weights with its own ``load_weights``."""
    from rnnconvert.converter import convert
    from rnnconvert.runtime import load

    rng = np.random.default_rng(41)
    o = {"dim_ordering": ordering}
    layers = [
        k1.plain("ZeroPadding3D", "zeropadding3d_1", padding=[1, 0, 2], **o),
        k1.plain("MaxPooling3D", "maxpooling3d_1", pool_size=[2, 2, 3], strides=[1, 2, 2], border_mode="same", **o),
        k1.plain("UpSampling3D", "upsampling3d_1", size=[2, 1, 2], **o),
        k1.plain("Cropping3D", "cropping3d_1", cropping=[[1, 0], [0, 1], [2, 1]], **o),
        k1.plain("AveragePooling3D", "averagepooling3d_1", pool_size=[2, 2, 2], strides=None, border_mode="valid", **o),
        k1.plain("GlobalMaxPooling3D", "globalmaxpooling3d_1", **o),
        k1.dense(rng, "dense_1", 2, 3),
    ]
    shape = (2, 4, 5, 6) if ordering == "th" else (4, 5, 6, 2)
    path = k1.write_model(tmp_path / "m.h5", "Sequential", k1.sequential_config(layers, shape), layers)
    K, fmt = _tfk(), ("channels_first" if ordering == "th" else "channels_last")
    L = K.layers
    ref = K.Sequential(
        [
            K.Input(shape),
            L.ZeroPadding3D((1, 0, 2), data_format=fmt),
            L.MaxPooling3D((2, 2, 3), strides=(1, 2, 2), padding="same", data_format=fmt),
            L.UpSampling3D((2, 1, 2), data_format=fmt),
            L.Cropping3D(((1, 0), (0, 1), (2, 1)), data_format=fmt),
            L.AveragePooling3D(2, data_format=fmt),
            L.GlobalMaxPooling3D(data_format=fmt),
            L.Dense(3),
        ]
    )
    ref.load_weights(path)
    x = rng.normal(0, 1, (3, *shape)).astype(np.float32)
    convert(path, tmp_path / "b")
    from keras_zoo import eager

    assert_parity(load(tmp_path / "b").predict(x), eager(ref, x), f"Keras 1 3-D layers {ordering}")


@pytest.mark.keras
def test_keras1_zero_padding2d_four_values_and_cropping2d(tmp_path):
    from keras_zoo import eager

    from rnnconvert.converter import convert
    from rnnconvert.runtime import load

    rng = np.random.default_rng(43)
    layers = [
        k1.plain("ZeroPadding2D", "zeropadding2d_1", padding=[1, 2, 0, 3], dim_ordering="tf"),
        k1.plain("Cropping2D", "cropping2d_1", cropping=[[0, 2], [1, 1]], dim_ordering="tf"),
        k1.plain("Flatten", "flatten_1"),
        k1.dense(rng, "dense_1", 7 * 7 * 2, 3),
    ]
    path = k1.write_model(tmp_path / "m.h5", "Sequential", k1.sequential_config(layers, (6, 6, 2)), layers)
    K = _tfk()
    ref = K.Sequential(
        [
            K.Input((6, 6, 2)),
            K.layers.ZeroPadding2D(((1, 2), (0, 3))),
            K.layers.Cropping2D(((0, 2), (1, 1))),
            K.layers.Flatten(),
            K.layers.Dense(3),
        ]
    )
    ref.load_weights(path)
    x = rng.normal(0, 1, (2, 6, 6, 2)).astype(np.float32)
    convert(path, tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(x), eager(ref, x), "Keras 1 ZeroPadding2D 4-tuple")


@pytest.mark.keras
def test_time_distributed_pool_layers_stream_frame_by_frame(zoo_bundle):
    from rnnconvert.runtime import load

    for era in ("keras3", "tf_keras"):
        model = load(zoo_bundle("time_distributed_pool3d_padding", era, "h5").out_dir)
        assert model.stream_plan().error is None, era


# -- max_elements: an axis the config makes huge is refused before the node runs -------------

GOLDEN = Path(__file__).parent / "data" / "golden" / "1.2.0" / "bundle"


def _golden_plus(nodes: list[dict]) -> tuple[dict, dict]:
    """The golden bundle (input 'frames' -> node 'glu' (3, 5, 4)) stamped 1.3.0, plus ``nodes``;
    the last one made an extra model output."""
    from rnnconvert.runtime.bundle import read_bundle

    bundle = read_bundle(GOLDEN)
    doc = copy.deepcopy(bundle.doc)
    doc["format_version"] = "1.3.0"
    for node in nodes:
        doc["nodes"].append({"keras": {"class_name": node["op"], "layer": node["name"]}, "weights": {}, **node})
    last = nodes[-1]
    doc["outputs"].append({"dtype": "float32", "from": [last["name"], 0], "name": last["name"], **last["outputs"][0]})
    doc.pop("test_vectors", None)
    arrays = {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in bundle.arrays.items()}
    return doc, arrays


def _out(shape):
    return [{"dtype": "float32", "shape": shape}]


@pytest.mark.parametrize(
    "nodes,match",
    [
        (
            [{"name": "ap", "op": "AdaptivePool", "inputs": [["glu", 0]], "outputs": _out([3, None, 4]),
              "config": {"mode": "max", "output_size": [1_000_000], "data_format": "channels_last"}}],
            "'ap' \\(AdaptivePool\\) would hold 12,000,000",
        ),
        (
            [{"name": "r", "op": "Reshape", "inputs": [["glu", 0]], "outputs": _out([3, 5, 1, 4, 1]),
              "config": {"target_shape": [5, 1, 4, 1]}},
             {"name": "up", "op": "UpSampling3D", "inputs": [["r", 0]], "outputs": _out([3, None, None, None, 1]),
              "config": {"size": [10, 1000, 1], "data_format": "channels_last"}}],
            "'up' \\(UpSampling3D\\) would hold 600,000 ",
        ),
        (
            [{"name": "r", "op": "Reshape", "inputs": [["glu", 0]], "outputs": _out([3, 5, 4, 1]),
              "config": {"target_shape": [5, 4, 1]}},
             {"name": "zp", "op": "ZeroPadding", "inputs": [["r", 0]], "outputs": _out([3, None, None, 1]),
              "config": {"padding": [[0, 5000], [0, 0]], "data_format": "channels_last"}}],
            "'zp' \\(ZeroPadding\\) would hold 60,060 ",
        ),
    ],
)  # fmt: skip
def test_a_free_axis_the_config_makes_huge_is_refused_before_the_node_runs(nodes, match):
    from rnnconvert.errors import ResourceError
    from rnnconvert.runtime.model import Model

    doc, arrays = _golden_plus(nodes)
    model = Model.from_arrays(doc, arrays, max_elements=60_000)
    node = next(n for n in model.nodes if n.name == nodes[-1]["name"])
    calls: list = []
    real = node.call
    node.call = lambda *a, **k: calls.append(a) or real(*a, **k)
    rng = np.random.default_rng(0)
    frames = [rng.normal(size=(3, 5, 4)).astype(np.float32), rng.normal(size=(3, 6)).astype(np.float32)]
    with pytest.raises(ResourceError, match=match):
        model.predict(frames)
    assert calls == []
