"""Keras 1 ``UpSampling2D`` (``size``, ``dim_ordering`` th/tf) in a Keras 1.2.2 file, against a
tf_keras model loading the same file with its own ``load_weights`` (Keras's route, not ours)."""

from __future__ import annotations

import keras1_files as k1
import numpy as np
import pytest
from conftest import assert_parity

from rnnconvert.converter import convert
from rnnconvert.runtime import load


@pytest.mark.keras
@pytest.mark.parametrize("ordering", ["th", "tf"])
def test_keras1_upsampling2d_against_tf_keras_own_keras1_loader(tmp_path, ordering):
    import tf_keras as K

    rng = np.random.default_rng(41)
    cv = k1.conv2d(rng, "convolution2d_1", 2, 3, 2, 2, dim_ordering=ordering, activation="relu")
    up = k1.plain("UpSampling2D", "upsampling2d_1", size=[2, 3], dim_ordering=ordering)
    fl = k1.plain("Flatten", "flatten_1")
    dn = k1.dense(rng, "dense_1", 3 * 8 * 18, 2)  # (4, 6) after the conv, x (2, 3)
    layers = [cv, up, fl, dn]
    shape = (2, 5, 7) if ordering == "th" else (5, 7, 2)
    path = k1.write_model(tmp_path / "m.h5", "Sequential", k1.sequential_config(layers, shape), layers)
    fmt = "channels_first" if ordering == "th" else "channels_last"
    ref = K.Sequential(
        [
            K.Input(shape),
            K.layers.Conv2D(3, 2, activation="relu", data_format=fmt),
            K.layers.UpSampling2D((2, 3), data_format=fmt),
            K.layers.Flatten(),
            K.layers.Dense(2),
        ]
    )
    ref.load_weights(path)
    x = rng.normal(0, 1, (3, *shape)).astype(np.float32)
    convert(path, tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(x), ref(x, training=False).numpy(), f"Keras 1 UpSampling2D {ordering}")
