"""Keras 1 ``Convolution3D``, ``Deconvolution2D`` and ``SeparableConvolution2D`` files (written
as Keras 1.2.2 wrote them, see keras1_files.py): ``border_mode``, ``subsample``, ``dim_ordering``
th/tf, Theano-trained kernels. The reference is tf_keras loading the same file with its own
``load_weights`` (which rewrites Keras 1 kernels itself) where tf_keras knows the class; else
the Keras 1 layout mapped by hand from Keras 1.2.2's source."""

from __future__ import annotations

from typing import Any

import keras1_files as k1
import numpy as np
import pytest
from conftest import assert_parity
from keras_zoo import eager

from rnnconvert.converter import convert
from rnnconvert.runtime import load

pytestmark = pytest.mark.keras

_REG = {"W_regularizer": None, "b_regularizer": None, "activity_regularizer": None, "W_constraint": None}


def _tfk():
    import tf_keras

    return tf_keras


def _arr(rng, shape) -> np.ndarray:
    return rng.normal(0, 0.4, shape).astype(np.float32)


def _conv3d(rng, name, c, f, k, *, ordering, border_mode="valid", subsample=(1, 1, 1)) -> k1.K1Layer:
    config: dict[str, Any] = {
        "nb_filter": f,
        "kernel_dim1": k[0],
        "kernel_dim2": k[1],
        "kernel_dim3": k[2],
        "init": "glorot_uniform",
        "activation": "relu",
        "border_mode": border_mode,
        "subsample": list(subsample),
        "dim_ordering": ordering,
        "bias": True,
        **_REG,
    }
    shape = (f, c, *k) if ordering == "th" else (*k, c, f)
    return k1.K1Layer("Convolution3D", name, config, [(f"{name}_W", _arr(rng, shape)), (f"{name}_b", _arr(rng, (f,)))])


def _deconv2d(rng, name, c, f, k, out_shape, *, ordering, border_mode="valid", subsample=(1, 1)) -> k1.K1Layer:
    config: dict[str, Any] = {
        "nb_filter": f,
        "nb_row": k[0],
        "nb_col": k[1],
        "output_shape": [None, *out_shape],
        "init": "glorot_uniform",
        "activation": "linear",
        "border_mode": border_mode,
        "subsample": list(subsample),
        "dim_ordering": ordering,
        "bias": True,
        **_REG,
    }
    shape = (f, c, *k) if ordering == "th" else (*k, c, f)  # Keras 1: Convolution2D's W shape
    return k1.K1Layer(
        "Deconvolution2D", name, config, [(f"{name}_W", _arr(rng, shape)), (f"{name}_b", _arr(rng, (f,)))]
    )


@pytest.mark.parametrize("ordering", ["th", "tf"])
def test_keras1_convolution3d_and_deconvolution2d_against_tf_keras_own_loader(tmp_path, ordering):
    rng = np.random.default_rng(41)
    th = ordering == "th"
    fmt = "channels_first" if th else "channels_last"
    c3 = _conv3d(rng, "convolution3d_1", 2, 3, (2, 3, 2), ordering=ordering, border_mode="same", subsample=(1, 2, 1))
    layers = [c3, k1.plain("Flatten", "flatten_1"), k1.dense(rng, "dense_1", 3 * 4 * 2 * 3, 2)]
    shape = (2, 4, 4, 3) if th else (4, 4, 3, 2)
    path = k1.write_model(tmp_path / "c3.h5", "Sequential", k1.sequential_config(layers, shape), layers)
    K = _tfk()
    ref = K.Sequential(
        [
            K.Input(shape),
            K.layers.Conv3D(3, (2, 3, 2), strides=(1, 2, 1), padding="same", activation="relu", data_format=fmt),
            K.layers.Flatten(),
            K.layers.Dense(2),
        ]
    )
    ref.load_weights(path)
    x = rng.normal(0, 1, (2, *shape)).astype(np.float32)
    convert(path, tmp_path / "b3")
    assert_parity(load(tmp_path / "b3").predict(x), eager(ref, x), f"Keras 1 Convolution3D {ordering}")

    # Deconvolution2D: (5, 4) -> valid, stride 2, kernel 3: (11, 9) by default; output_shape asks (12, 9)
    out = (2, 12, 9) if th else (12, 9, 2)
    dc = _deconv2d(rng, "deconvolution2d_1", 3, 2, (3, 3), out, ordering=ordering, subsample=(2, 2))
    dc_same = _deconv2d(rng, "deconvolution2d_2", 2, 2, (2, 3), (2, 12, 9) if th else (12, 9, 2), ordering=ordering,
                        border_mode="same")  # fmt: skip
    layers = [dc, dc_same]
    shape = (3, 5, 4) if th else (5, 4, 3)
    path = k1.write_model(tmp_path / "d2.h5", "Sequential", k1.sequential_config(layers, shape), layers)
    ref = K.Sequential(
        [
            K.Input(shape),
            K.layers.Conv2DTranspose(2, 3, strides=2, output_padding=(1, 0), data_format=fmt),
            K.layers.Conv2DTranspose(2, (2, 3), padding="same", data_format=fmt),
        ]
    )
    ref.load_weights(path)
    x = rng.normal(0, 1, (2, *shape)).astype(np.float32)
    convert(path, tmp_path / "bd")
    assert_parity(load(tmp_path / "bd").predict(x), eager(ref, x), f"Keras 1 Deconvolution2D {ordering}")


def test_keras1_theano_convolution3d_is_flipped_as_keras_2_2_did(tmp_path):
    """A Theano-trained file (weight names without ':0'): Keras 2.2's loader flipped a Conv3D
    kernel on its three spatial axes (``convert_kernel``); the reference applies that flip."""
    rng = np.random.default_rng(42)
    c3 = _conv3d(rng, "convolution3d_1", 2, 3, (3, 1, 3), ordering="th")
    layers = [c3]
    path = k1.write_model(tmp_path / "t.h5", "Sequential", k1.sequential_config(layers, (2, 4, 3, 5)), layers,
                          theano=True)  # fmt: skip
    K = _tfk()
    ref = K.Sequential(
        [K.Input((2, 4, 3, 5)), K.layers.Conv3D(3, (3, 1, 3), activation="relu", data_format="channels_first")]
    )
    w, b = c3.weights[0][1], c3.weights[1][1]
    ref.set_weights([np.flip(np.transpose(w, (2, 3, 4, 1, 0)), axis=(0, 1, 2)), b])
    x = rng.normal(0, 1, (2, 2, 4, 3, 5)).astype(np.float32)
    result = convert(path, tmp_path / "b")
    assert any("Theano" in n for n in result.warnings)
    assert_parity(load(tmp_path / "b").predict(x), eager(ref, x), "Keras 1 Theano Convolution3D")


@pytest.mark.parametrize("ordering", ["th", "tf"])
def test_keras1_separable_convolution2d(tmp_path, ordering):
    rng = np.random.default_rng(43)
    th = ordering == "th"
    c, m, f, k = 3, 2, 4, (3, 2)
    dw = _arr(rng, (m, c, *k) if th else (*k, c, m))
    pw = _arr(rng, (f, c * m, 1, 1) if th else (1, 1, c * m, f))
    b = _arr(rng, (f,))
    config = {"nb_filter": f, "nb_row": k[0], "nb_col": k[1], "init": "glorot_uniform", "activation": "tanh",
              "border_mode": "same", "subsample": [2, 1], "depth_multiplier": m, "dim_ordering": ordering,
              "depthwise_regularizer": None, "pointwise_regularizer": None, "b_regularizer": None,
              "activity_regularizer": None, "depthwise_constraint": None, "pointwise_constraint": None,
              "b_constraint": None, "bias": True}  # fmt: skip
    name = "separableconvolution2d_1"
    sep = k1.K1Layer(
        "SeparableConvolution2D",
        name,
        config,
        [(f"{name}_depthwise_kernel", dw), (f"{name}_pointwise_kernel", pw), (f"{name}_b", b)],
    )
    shape = (c, 7, 6) if th else (7, 6, c)
    path = k1.write_model(tmp_path / "s.h5", "Sequential", k1.sequential_config([sep], shape), [sep])
    K = _tfk()
    fmt = "channels_first" if th else "channels_last"
    ref = K.Sequential([K.Input(shape), K.layers.SeparableConv2D(f, k, strides=(2, 1), padding="same",
                                                                depth_multiplier=m, activation="tanh", data_format=fmt)])  # fmt: skip
    # Keras 1.2.2's TensorFlow backend turned 'th' kernels into 'tf' ones by transposing (2, 3, 1, 0)
    to_tf = (lambda a: np.transpose(a, (2, 3, 1, 0))) if th else (lambda a: a)
    ref.set_weights([to_tf(dw), to_tf(pw), b])
    x = rng.normal(0, 1, (2, *shape)).astype(np.float32)
    convert(path, tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(x), eager(ref, x), f"Keras 1 SeparableConvolution2D {ordering}")


def test_keras2_theano_conv3d_and_conv2d_transpose_kernels_flipped(tmp_path):
    """A Keras 2 file whose ``backend`` attribute says Theano (written with tf_keras, the
    attribute then set): Keras 2.2 flipped Conv3D and Conv2DTranspose kernels too (its
    ``conv_layers`` list), every spatial axis; Separable / Depthwise kernels it left alone."""
    import h5py

    K = _tfk()
    rng = np.random.default_rng(44)
    x3, x2 = K.Input((3, 4, 5, 2)), K.Input((4, 3, 2))
    c3 = K.layers.Conv3D(2, (3, 1, 3), activation="tanh")
    t2 = K.layers.Conv2DTranspose(2, (3, 2), strides=2)
    dw = K.layers.DepthwiseConv2D(3, padding="same")
    m = K.Model([x3, x2], [c3(x3), t2(dw(x2))])
    m.set_weights([rng.normal(0, 0.4, w.shape).astype(np.float32) for w in m.get_weights()])
    path = tmp_path / "m.h5"
    m.save(path)
    with h5py.File(path, "r+") as f:
        f.attrs["backend"] = "theano"
    xs = [rng.normal(0, 1, (2, 3, 4, 5, 2)).astype(np.float32), rng.normal(0, 1, (2, 4, 3, 2)).astype(np.float32)]
    kernel, bias = c3.get_weights()
    c3.set_weights([kernel[::-1, ::-1, ::-1], bias])
    kernel, bias = t2.get_weights()
    t2.set_weights([kernel[::-1, ::-1], bias])
    expected = eager(m, xs)
    convert(path, tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(xs), expected, "Keras 2 Theano Conv3D / Conv2DTranspose")
