"""The norm helper's ops against their definitions (FORMAT.md 5.41-5.45) written as loops,
load-time refusals of bad nodes, and the conversions the zoo cannot hold (layers Keras 3.15
cannot save to .h5; tf_keras's RandomCrop; layers refused by name)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnconvert.errors import FormatError
from rnnconvert.runtime.ops.norms import group_norm, normalization, rms_norm, threshold, unit_norm
from rnnconvert.runtime.spec import SPECS, check_node

RNG = np.random.default_rng(7)


def _x(*shape: int) -> np.ndarray:
    return RNG.normal(0, 2, shape).astype(np.float32)


def test_group_norm_is_per_sample_per_group_standardisation():
    x = _x(2, 3, 4, 6)  # channels on axis 3, 2 groups of 3
    gamma, beta = _x(6), _x(6)
    (y,) = group_norm(x, gamma=gamma, beta=beta, groups=2, axis=-1, epsilon=1e-3)
    want = np.zeros_like(x, dtype=np.float64)
    for n in range(2):
        for g in range(2):
            vals = [float(x[n, i, j, c]) for i in range(3) for j in range(4) for c in range(3 * g, 3 * g + 3)]
            mean = sum(vals) / len(vals)
            var = sum((v - mean) ** 2 for v in vals) / len(vals)
            for i in range(3):
                for j in range(4):
                    for c in range(3 * g, 3 * g + 3):
                        want[n, i, j, c] = (x[n, i, j, c] - mean) / math.sqrt(var + 1e-3) * gamma[c] + beta[c]
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_group_norm_on_a_middle_axis_without_affine():
    x = _x(2, 4, 5)  # channels on axis 1, 4 groups of 1: each channel over time alone
    (y,) = group_norm(x, groups=4, axis=1, epsilon=0.0)
    for n in range(2):
        for c in range(4):
            row = x[n, c].astype(np.float64)
            np.testing.assert_allclose(y[n, c], (row - row.mean()) / row.std(), rtol=1e-4, atol=1e-5)


def test_rms_norm_unit_norm_normalization_threshold():
    x = _x(3, 4, 5)
    scale = _x(4, 5)
    (y,) = rms_norm(x, scale=scale, axis=[1, 2], epsilon=0.1)
    for n in range(3):
        ms = sum(float(v) ** 2 for v in x[n].ravel()) / 20
        np.testing.assert_allclose(y[n], x[n] / math.sqrt(ms + 0.1) * scale, rtol=1e-5, atol=1e-6)

    (u,) = unit_norm(x, axis=[2], epsilon=1e-12)
    for n in range(3):
        for t in range(4):
            norm = math.sqrt(sum(float(v) ** 2 for v in x[n, t]))
            np.testing.assert_allclose(u[n, t], x[n, t] / norm, rtol=1e-5)
    (z,) = unit_norm(np.zeros((1, 3), np.float32), axis=[1], epsilon=1e-24)
    assert np.all(z == 0)  # the epsilon floor keeps 0 / 0 away

    mean, var = _x(4), np.abs(_x(4)) + np.float32(0.01)
    var[0] = 0.0  # sqrt(0) is floored at epsilon
    (a,) = normalization(x, mean=mean, variance=var, axis=[1], invert=False, epsilon=1e-7)
    (b,) = normalization(x, mean=mean, variance=var, axis=[1], invert=True, epsilon=1e-7)
    for t in range(4):
        s = max(math.sqrt(float(var[t])), 1e-7)
        np.testing.assert_allclose(a[:, t], (x[:, t] - mean[t]) / s, rtol=1e-5)
        np.testing.assert_allclose(b[:, t], mean[t] + x[:, t] * s, rtol=1e-5, atol=1e-6)

    (h,) = threshold(np.array([-1.0, 0.2, 0.5, 3.0], np.float32), threshold=0.2, default_value=-7.0)
    assert h.tolist() == [-7.0, -7.0, 0.5, 3.0]  # strictly greater keeps x


@pytest.mark.parametrize(
    "op,config,weights,why",
    [
        ("GroupNormalization", {"groups": 4, "axis": -1, "epsilon": 1e-3}, {"gamma": np.ones(6, np.float32)}, "gamma"),
        ("GroupNormalization", {"groups": 0, "axis": -1, "epsilon": 1e-3}, {}, "groups"),
        ("RMSNormalization", {"axis": [-1], "epsilon": 1e-6}, {}, "lacks"),
        ("RMSNormalization", {"axis": [-1], "epsilon": -1.0}, {"scale": np.ones(3, np.float32)}, "epsilon"),
        ("UnitNormalization", {"axis": [1], "epsilon": 1e-12, "order": 2}, {}, "unknown config key"),
        (
            "Normalization",
            {"axis": [1], "invert": False, "epsilon": 1e-7},
            {"mean": np.zeros(3, np.float32), "variance": np.ones(4, np.float32)},
            "same shape",
        ),
        (
            "Normalization",
            {"axis": [1], "invert": 0, "epsilon": 1e-7},
            {"mean": np.zeros(3, np.float32), "variance": np.ones(3, np.float32)},
            "invert",
        ),
        ("Threshold", {"threshold": 0.5}, {}, "default_value"),
    ],
)
def test_bad_nodes_are_refused_at_load(op, config, weights, why):
    with pytest.raises(FormatError, match=why):
        check_node(op, config, weights, "node n")


def test_every_norm_op_is_format_1_3():
    for op in ("GroupNormalization", "RMSNormalization", "UnitNormalization", "Normalization", "Threshold"):
        assert SPECS[op].since == "1.3.0"


# -- conversions the zoo cannot hold ---------------------------------------------------


def _parity(model, x, tmp_path, source):
    from conftest import assert_parity

    from rnnconvert.converter import convert
    from rnnconvert.runtime import load

    out = tmp_path / f"b{len(list(tmp_path.iterdir()))}"
    convert(source, out)
    want = np.asarray(model(x, training=False))
    assert_parity(load(out).predict(x), want, str(source)[:40])


@pytest.mark.keras
def test_augmentations_keras_cannot_save_to_h5_are_identities(tmp_path):
    import keras
    from cases_norm import k3_augmentations_h5_cannot_save

    inp = keras.Input((8, 10, 3))
    y = inp
    for layer in k3_augmentations_h5_cannot_save(keras):
        y = layer(y)
    model = keras.Model(inp, y)
    x = RNG.uniform(0, 255, (2, 8, 10, 3)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    _parity(model, x, tmp_path, tmp_path / "m.keras")
    _parity(model, x, tmp_path, model)


@pytest.mark.keras
def test_tf_keras_random_crop_resizes_at_inference(tmp_path):
    import tf_keras

    from rnnconvert.converter import convert
    from rnnconvert.errors import UnsupportedError

    inp = tf_keras.Input((8, 10, 3))
    model = tf_keras.Model(inp, [tf_keras.layers.RandomCrop(h, w)(inp) for h, w in ((4, 6), (4, 10), (10, 12))])
    model.save(tmp_path / "m.h5")
    x = RNG.uniform(0, 255, (2, 8, 10, 3)).astype(np.float32)
    if "Resize2D" not in SPECS:  # the resize helper's op: until it is merged, refused by name
        with pytest.raises(UnsupportedError, match="Resize2D"):
            convert(tmp_path / "m.h5", tmp_path / "b")
        return
    from conftest import assert_parity

    from rnnconvert.runtime import load

    convert(tmp_path / "m.h5", tmp_path / "b")
    got = load(tmp_path / "b").predict(x)
    for g, w in zip(got, model(x, training=False)):
        assert_parity(g, np.asarray(w), "tf_keras RandomCrop")


@pytest.mark.keras
def test_clahe_acts_at_inference_and_is_refused_by_name(tmp_path):
    import keras

    from rnnconvert.converter import convert
    from rnnconvert.errors import UnsupportedError

    inp = keras.Input((8, 10, 3))
    layer = keras.layers.ContrastLimitedAdaptiveHistogramEqualization(value_range=(0, 255))
    x = RNG.uniform(0, 255, (2, 8, 10, 3)).astype(np.float32)
    assert not np.allclose(np.asarray(layer(x, training=False)), x)  # really not the identity
    model = keras.Model(inp, layer(inp))
    model.save(tmp_path / "m.keras")
    with pytest.raises(UnsupportedError, match="CLAHE"):
        convert(tmp_path / "m.keras", tmp_path / "b")


@pytest.mark.keras
def test_auto_contrast_keeps_a_constant_channel():
    import keras

    from rnnconvert.runtime.ops.norms import auto_contrast

    x = RNG.uniform(0, 1, (2, 5, 4, 3)).astype(np.float32)
    x[0, :, :, 1] = 0.25  # constant: Keras's 0/0 gives NaN, and the input is kept
    x[1, :, :, 2] = 0.0
    for vr in ((0, 1), (0, 255)):
        want = np.asarray(keras.layers.AutoContrast(value_range=vr)(x, training=False))
        (got,) = auto_contrast(x, value_range=list(vr))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.keras
def test_statistics_are_not_quantized(tmp_path):
    import keras

    from rnnconvert.converter import convert

    x = keras.Input((4, 5))
    mean, var = RNG.normal(0, 1, (4, 5)), RNG.uniform(0.5, 2, (4, 5))
    y = keras.layers.Normalization(axis=(1, 2), mean=mean, variance=var)(x)
    y = keras.layers.RMSNormalization(axis=[1, 2])(y)
    y = keras.layers.Dense(3, name="dense")(y)
    result = convert(keras.Model(x, y), tmp_path / "b", dtype="int8")
    arrays = result.doc["weights"]["arrays"]
    quantized = sorted(k for k, a in arrays.items() if "quantization" in a)
    assert quantized == ["dense/kernel"], quantized  # the 2-D mean, variance and scale stay float32
