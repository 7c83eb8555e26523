"""Keras cases for the 3-D pooling layers, Keras 3's adaptive pooling, ZeroPadding2D/3D,
Cropping2D/3D and UpSampling3D in every era and format: valid and same with strides on odd
sizes, a pool larger than a side under ``same``, keepdims, both data formats, TimeDistributed
around each (those stream frame by frame), and a ConvLSTM2D nowcasting model with a 3-D
pooling head. Shapes are tiny: each case is one multi-output model."""

from __future__ import annotations

import numpy as np
import pytest
from keras_zoo import PADDED_IDS, case, randomize


def _volumes(rng, *shape):
    return rng.normal(0, 1, shape).astype(np.float32)


@case("pool3d_padding_cropping_upsampling")
def _(K, era, rng):
    x = K.Input((5, 7, 6, 2))  # (D, H, W, C): odd and even sizes
    L = K.layers
    outs = []
    for p in ("valid", "same"):
        for size, strides in (
            ((2, 2, 2), None),
            ((3, 2, 1), (2, 1, 3)),
            ((1, 3, 3), (1, 1, 1)),
            ((2, 3, 2), (3, 2, 2)),
        ):
            outs.append(L.MaxPooling3D(size, strides=strides, padding=p)(x))
            outs.append(L.AveragePooling3D(size, strides=strides, padding=p)(x))
    outs.append(L.MaxPool3D((6, 8, 2), padding="same")(x))  # pool larger than two sides
    outs.append(L.AvgPool3D((6, 3, 7), strides=2, padding="same")(x))
    outs += [
        L.GlobalMaxPooling3D()(x),
        L.GlobalAveragePooling3D()(x),
        L.GlobalMaxPool3D(keepdims=True)(x),
        L.GlobalAvgPool3D(keepdims=True)(x),
        L.ZeroPadding3D(1)(x),
        L.ZeroPadding3D(((0, 2), (1, 0), (3, 1)))(x),
        L.Cropping3D(((1, 2), (0, 3), (2, 1)))(x),
        L.Cropping3D(1)(x),
        L.UpSampling3D((2, 1, 3))(x),
        L.UpSampling3D()(x),
    ]
    img = K.Input((7, 6, 3))  # 2-D padding and cropping
    outs += [
        L.ZeroPadding2D(2)(img),
        L.ZeroPadding2D((1, 3))(img),
        L.ZeroPadding2D(((0, 1), (2, 0)))(img),
        L.Cropping2D(((1, 2), (0, 3)))(img),
        L.Cropping2D((3, 1))(img),
    ]
    m = K.Model([x, img], outs)
    return m, [_volumes(rng, 2, 5, 7, 6, 2), _volumes(rng, 2, 7, 6, 3)]


@case("pool3d_channels_first")
def _(K, era, rng):
    cf = "channels_first"
    L = K.layers
    x = K.Input((2, 5, 7, 6))  # (C, D, H, W)
    img = K.Input((3, 7, 6))  # (C, H, W)
    outs = [
        L.MaxPooling3D((2, 3, 2), strides=(1, 2, 3), padding="same", data_format=cf)(x),
        L.AveragePooling3D((3, 2, 2), padding="same", data_format=cf)(x),
        L.AveragePooling3D(2, data_format=cf)(x),
        L.GlobalMaxPooling3D(data_format=cf, keepdims=True)(x),
        L.GlobalAveragePooling3D(data_format=cf)(x),
        L.ZeroPadding3D(((1, 0), (0, 2), (1, 1)), data_format=cf)(x),
        L.Cropping3D(((0, 1), (2, 1), (1, 0)), data_format=cf)(x),
        L.UpSampling3D((1, 2, 2), data_format=cf)(x),
        L.ZeroPadding2D(((1, 2), (0, 1)), data_format=cf)(img),
        L.Cropping2D(((2, 0), (1, 2)), data_format=cf)(img),
    ]
    m = K.Model([x, img], outs)
    return m, [_volumes(rng, 2, 2, 5, 7, 6), _volumes(rng, 2, 3, 7, 6)]


@case("adaptive_pooling_1d_2d_3d")
def _(K, era, rng):
    if era != "keras3":
        pytest.skip("the adaptive pooling layers are Keras 3 only")
    L = K.layers
    seq, img, vol = K.Input((7, 3)), K.Input((7, 10, 2)), K.Input((5, 6, 4, 2))
    img_cf, ids = K.Input((2, 7, 10)), K.Input((6,), dtype="int32")
    # Keras 3's adaptive layers do not support masking: the Embedding's mask is dropped, the
    # average covers the padded steps too, and the GRU after it sees no mask.
    emb = L.Embedding(8, 3, mask_zero=True)(ids)
    outs = [
        L.AdaptiveMaxPooling1D(3)(seq),
        L.AdaptiveAveragePooling1D(5)(seq),  # uneven windows, overlapping
        L.AdaptiveAveragePooling1D(9)(seq),  # more cells out than in
        L.AdaptiveMaxPooling2D((3, 4))(img),
        L.AdaptiveAveragePooling2D((4, 3))(img),
        L.AdaptiveAveragePooling2D(1)(img),
        L.AdaptiveMaxPooling2D((2, 5), data_format="channels_first")(img_cf),
        L.AdaptiveAveragePooling2D((3, 3), data_format="channels_first")(img_cf),
        L.AdaptiveMaxPooling3D((2, 4, 3))(vol),
        L.AdaptiveAveragePooling3D((3, 2, 4))(vol),
        L.GRU(2, return_sequences=True)(L.AdaptiveAveragePooling1D(4)(emb)),
    ]
    m = K.Model([seq, img, vol, img_cf, ids], outs)
    randomize(m, rng)
    n = len(PADDED_IDS)
    shapes = [(n, 7, 3), (n, 7, 10, 2), (n, 5, 6, 4, 2), (n, 2, 7, 10)]
    return m, [*(_volumes(rng, *s) for s in shapes), PADDED_IDS]


@case("time_distributed_pool3d_padding")
def _(K, era, rng):
    # TimeDistributed around each layer: a (B, T, D, H, W, C) clip of volumes and a (B, T, H, W, C)
    # clip of frames; each frame is processed on its own, so the model streams frame by frame.
    L, TD = K.layers, K.layers.TimeDistributed
    vol, frames = K.Input((None, 4, 5, 3, 2)), K.Input((None, 6, 5, 2))
    outs = [
        TD(L.MaxPooling3D((2, 2, 1), padding="same"))(vol),
        TD(L.AveragePooling3D((2, 3, 2), strides=1))(vol),
        TD(L.GlobalMaxPooling3D())(vol),
        TD(L.GlobalAveragePooling3D(keepdims=True))(vol),
        TD(L.ZeroPadding3D((1, 0, 2)))(vol),
        TD(L.Cropping3D(((1, 0), (1, 2), (0, 1))))(vol),
        TD(L.UpSampling3D((1, 2, 1)))(vol),
        TD(L.ZeroPadding2D(((1, 0), (0, 2))))(frames),
        TD(L.Cropping2D(((2, 1), (1, 1))))(frames),
    ]
    if era == "keras3":
        outs += [TD(L.AdaptiveAveragePooling2D((4, 3)))(frames), TD(L.AdaptiveMaxPooling3D((3, 2, 2)))(vol)]
    h = TD(L.Flatten())(TD(L.Cropping2D(1))(TD(L.ZeroPadding2D(1))(frames)))
    outs.append(L.GRU(4, return_sequences=True)(h))
    m = K.Model([vol, frames], outs)
    randomize(m, rng, 0.3)
    return m, [_volumes(rng, 2, 3, 4, 5, 3, 2), _volumes(rng, 2, 3, 6, 5, 2)]


@case("conv_lstm_nowcasting_pool3d_head")
def _(K, era, rng):
    # Precipitation nowcasting: ConvLSTM2D over radar frames, a 3-D pooling head over
    # (time, rows, cols), then a volume-level summary; and a Bidirectional(ConvLSTM2D) branch
    # with 3-D pooling heads.
    L = K.layers
    x = K.Input((6, 8, 7, 1))
    h = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True)(x)  # (6, 8, 7, 3)
    h = L.ZeroPadding3D((0, 1, 0))(h)  # (6, 10, 7, 3)
    h = L.MaxPooling3D((2, 2, 2), padding="same")(h)  # (3, 5, 4, 3)
    h = L.UpSampling3D((2, 1, 1))(h)  # (6, 5, 4, 3)
    h = L.Cropping3D(((1, 1), (0, 1), (1, 0)))(h)  # (4, 4, 3, 3)
    a = L.AveragePooling3D((2, 2, 3))(h)
    g = L.GlobalAveragePooling3D()(h)
    out = L.Dense(2)(g)
    # Bidirectional(ConvLSTM2D) followed by 3-D pooling heads
    bi = L.Bidirectional(L.ConvLSTM2D(2, 3, padding="same", return_sequences=True))(x)  # (6, 8, 7, 4)
    bi = L.AveragePooling3D((3, 2, 2), strides=(2, 2, 3), padding="same")(bi)
    bi = L.GlobalMaxPooling3D(keepdims=True)(bi)
    m = K.Model(x, [a, out, bi])
    randomize(m, rng, 0.3)
    return m, [_volumes(rng, 2, 6, 8, 7, 1)]
