"""Keras cases for the norm helper's layers (issue 16): GroupNormalization, RMSNormalization,
UnitNormalization, Normalization, Identity, the recorded keras.ops activations, and the
augmentation layers at inference -- each in one multi-output model per topic."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import seq as _seq
from keras_zoo import case, randomize


@case("norm_layers")
def _(K, era, rng):
    x = K.Input((5, 6))
    img = K.Input((4, 3, 6))
    mean2 = rng.normal(0, 1, (5, 6)).astype("float32")
    var2 = (rng.uniform(0.2, 2.0, (5, 6))).astype("float32")
    outs = [
        K.layers.GroupNormalization(groups=3)(x),
        K.layers.GroupNormalization(groups=2, axis=-2, center=False)(K.layers.Permute((2, 1))(x)),
        K.layers.GroupNormalization(groups=-1, scale=False, epsilon=0.01)(img),
        K.layers.UnitNormalization()(x),
        K.layers.UnitNormalization(axis=[1, 2])(x),
        K.layers.Normalization(mean=0.5, variance=4.0)(x),
        K.layers.Normalization(axis=-1, mean=list(mean2[0]), variance=list(var2[0]), invert=True)(x),
        K.layers.Normalization(axis=(1, 2), mean=mean2, variance=var2)(x),
        K.layers.Normalization(axis=None, mean=1.5, variance=0.0)(x),
        K.layers.Identity()(x),
    ]
    adapted = K.layers.Normalization(axis=1)
    adapted.adapt(rng.normal(2.0, 3.0, (20, 5, 6)).astype("float32"))
    outs.append(K.layers.LSTM(3, return_sequences=True)(adapted(x)))
    if era == "keras3":
        outs += [
            K.layers.RMSNormalization()(x),
            K.layers.RMSNormalization(axis=[1, 2], epsilon=0.1)(x),
        ]
    m = K.Model([x, img], outs)
    for layer in m.layers:  # random gammas, betas and scales; Normalization keeps its statistics
        if layer.weights and "normalization" in layer.name and not layer.name.startswith("normalization"):
            layer.set_weights([rng.normal(1.0, 0.5, w.shape).astype("float32") for w in layer.get_weights()])
    return m, [_seq(rng, 3, 5, 6), rng.normal(0, 2, (3, 4, 3, 6)).astype("float32")]


@case("ops_activations")
def _(K, era, rng):
    if era != "keras3":
        pytest.skip("keras.ops activation operations are Keras 3 only")
    ops = K.ops
    x = K.Input((4, 6))
    w = K.Input((4, 6))  # wide values: past relu6's and hard_sigmoid's knees
    ids = K.Input((4,), dtype="int32")
    outs = [
        ops.relu(x),
        ops.relu6(w),
        ops.sigmoid(x),
        ops.sparse_sigmoid(x),
        ops.softplus(x),
        ops.softsign(x),
        ops.soft_shrink(x, threshold=0.3),
        ops.sparse_plus(x),
        ops.silu(x),
        ops.squareplus(x, b=2.5),
        ops.log_sigmoid(x),
        ops.leaky_relu(x, negative_slope=0.15),
        ops.hard_sigmoid(w),
        ops.hard_silu(w),
        ops.elu(x, alpha=0.7),
        ops.selu(x),
        ops.gelu(x),
        ops.gelu(x, approximate=False),
        ops.celu(x, alpha=1.3),
        ops.glu(x),
        ops.glu(x, axis=1),
        ops.tanh_shrink(x),
        ops.hard_tanh(w),
        ops.hard_shrink(x, threshold=0.6),
        ops.threshold(x, 0.2, -3.0),
        ops.softmax(x, axis=1),
        ops.log_softmax(x),
        ops.sparsemax(x),
        ops.tanh(x),
        ops.exp(x),
    ]
    # an operation drops the mask: the LSTM after it sees every step
    outs.append(K.layers.LSTM(3)(ops.tanh(K.layers.Embedding(9, 6, mask_zero=True)(ids))))
    m = K.Model([x, w, ids], outs)
    randomize(m, rng)
    return m, [
        _seq(rng, 3, 4, 6),
        4 * _seq(rng, 3, 4, 6),
        np.array([[1, 2, 0, 0], [0, 3, 4, 5], [6, 7, 8, 1]], dtype="int32"),
    ]


def _k3_augmentations(K):
    L = K.layers
    rng01 = (0, 255)
    return [
        L.RandomFlip("horizontal_and_vertical"),
        L.RandomRotation(0.4, fill_mode="constant"),
        L.RandomZoom(0.5, 0.5),
        L.RandomTranslation(0.3, 0.3),
        L.RandomContrast(0.9),
        L.RandomHue(0.9, rng01),
        L.RandomColorJitter(rng01, brightness_factor=0.5, contrast_factor=0.5),
        L.RandomGaussianBlur(1.0),
        L.RandomErasing(1.0),
        L.RandomElasticTransform(1.0),
        L.RandomPerspective(1.0),
        L.RandomGrayscale(1.0),
        L.RandomInvert(1.0),
        L.CutMix(),
        L.MixUp(),
        L.MaxNumBoundingBoxes(3),
        L.GaussianNoise(0.9),
        L.GaussianDropout(0.5),
        L.AlphaDropout(0.5),
        L.SpatialDropout2D(0.5),
        L.Identity(),
    ]


def k3_augmentations_h5_cannot_save(K):
    """Keras 3.15 cannot save these to .h5 (a module in their config; RandomShear does not even
    reload from .keras): tests/test_norm_ops.py converts them from .keras and in memory."""
    L = K.layers
    rng01 = (0, 255)
    return [
        L.RandomBrightness(0.9),
        L.RandomSaturation(0.9, rng01),
        L.RandomSharpness(0.9, rng01),
        L.RandomColorDegeneration(0.9),
        L.RandomPosterization(2, value_range=rng01),
        L.RandomShear(0.5, 0.5),
        L.Solarization(1.0, threshold_factor=0.5),
    ]


def _tfk_augmentations(K):
    L = K.layers
    return [
        L.RandomFlip("horizontal_and_vertical"),
        L.RandomRotation(0.4, fill_mode="constant"),
        L.RandomZoom(0.5, 0.5),
        L.RandomTranslation(0.3, 0.3),
        L.RandomContrast(0.9),
        L.RandomHeight(0.5),
        L.RandomWidth(0.5),
        L.GaussianNoise(0.9),
        L.GaussianDropout(0.5),
        L.AlphaDropout(0.5),
        L.SpatialDropout2D(0.5),
        L.Identity(),
    ]


@case("augmentation_at_inference")
def _(K, era, rng):
    # every augmentation layer in one chain: a single one that is not the identity at
    # inference shows in the output; then a frame classifier under TimeDistributed
    img = K.Input((8, 10, 3))
    y = img
    for layer in _k3_augmentations(K) if era == "keras3" else _tfk_augmentations(K):
        y = layer(y)
    outs = [y]
    if era == "keras3":
        outs.append(K.layers.RandomCrop(4, 6)(img))  # Keras 3.15: unchanged at inference
        outs.append(K.layers.AutoContrast()(img))  # not random: acts at inference
        outs.append(K.layers.AutoContrast(value_range=(-1.0, 2.0))(img))
    frames = K.Input((5, 8, 10, 3))
    f = K.layers.TimeDistributed(K.layers.RandomFlip())(frames)
    f = K.layers.TimeDistributed(K.layers.RandomContrast(0.5))(f)
    f = K.layers.TimeDistributed(K.layers.GlobalAveragePooling2D())(f)
    outs.append(K.layers.GRU(4)(f))
    m = K.Model([img, frames], outs)
    randomize(m, rng)
    return m, [
        rng.uniform(0, 255, (2, 8, 10, 3)).astype("float32"),
        rng.normal(0, 1, (2, 5, 8, 10, 3)).astype("float32"),
    ]
