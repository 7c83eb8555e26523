"""Keras cases for Conv2D and the 2-D pooling layers in every era and format: each padding
with strides and dilation on odd sizes, a kernel larger than the input under ``same``,
groups, both data formats, activations, and whole models -- an LRCN (TimeDistributed
Conv2D / MaxPooling2D / Flatten -> LSTM, which streams frame by frame) and a CRNN
(Conv2D blocks -> Reshape -> Bidirectional(GRU))."""

from __future__ import annotations

import numpy as np
from keras_zoo import case, randomize


def _images(rng, *shape):
    return rng.normal(0, 1, shape).astype(np.float32)


# (padding, kernel, strides, dilation): Keras refuses strides > 1 with dilation > 1.
_CONV_OPTIONS = [
    (padding, kernel, strides, dilation)
    for padding in ("valid", "same")
    for kernel, strides, dilation in (
        ((3, 2), (1, 1), (1, 1)),
        ((3, 3), (2, 3), (1, 1)),
        ((2, 3), (3, 2), (1, 1)),
        ((3, 2), (1, 1), (2, 3)),
        ((1, 1), (2, 2), (1, 1)),
    )
]


@case("conv2d_padding_strides_dilation")
def _(K, era, rng):
    x = K.Input((9, 8, 3))  # odd and even sizes
    outs = [
        K.layers.Conv2D(4, k, strides=s, dilation_rate=d, padding=p, activation="relu")(x)
        for p, k, s, d in _CONV_OPTIONS
    ]
    outs.append(K.layers.Conv2D(2, (11, 10), padding="same")(x))  # kernel larger than the input
    outs.append(K.layers.Conv2D(3, (9, 8), padding="valid", use_bias=False)(x))  # one output cell
    m = K.Model(x, outs)
    randomize(m, rng)
    return m, [_images(rng, 2, 9, 8, 3)]


@case("conv2d_activations_and_groups")
def _(K, era, rng):
    x = K.Input((7, 6, 4))
    acts = ["tanh", "sigmoid", "elu", "selu", "softplus", "swish", "softmax", "hard_sigmoid", "linear"]
    outs = [K.layers.Conv2D(4, 3, padding="same", activation=a)(x) for a in acts]
    outs.append(K.layers.Conv2D(6, (3, 2), groups=2, padding="same", strides=(2, 1))(x))
    outs.append(K.layers.Conv2D(4, 2, groups=4, use_bias=False)(x))  # depthwise-like
    m = K.Model(x, outs)
    randomize(m, rng)
    return m, [_images(rng, 3, 7, 6, 4)]


@case("pool2d_every_padding_stride")
def _(K, era, rng):
    x = K.Input((7, 9, 3))
    outs = []
    for p in ("valid", "same"):
        for size, strides in (((2, 2), None), ((3, 2), (2, 1)), ((3, 3), (1, 1)), ((2, 3), (3, 2))):
            outs.append(K.layers.MaxPooling2D(size, strides=strides, padding=p)(x))
            outs.append(K.layers.AveragePooling2D(size, strides=strides, padding=p)(x))
    outs.append(K.layers.MaxPool2D(8, padding="same")(x))  # pool larger than a side
    outs.append(K.layers.AvgPool2D((8, 10), padding="same", strides=3)(x))
    outs += [
        K.layers.GlobalMaxPooling2D()(x),
        K.layers.GlobalAveragePooling2D()(x),
        K.layers.GlobalMaxPool2D(keepdims=True)(x),
        K.layers.GlobalAvgPool2D(keepdims=True)(x),
    ]
    m = K.Model(x, outs)
    return m, [_images(rng, 2, 7, 9, 3)]


@case("conv2d_pool2d_channels_first")
def _(K, era, rng):
    x = K.Input((3, 9, 8))  # (C, H, W)
    cf = "channels_first"
    c = K.layers.Conv2D(4, (3, 2), padding="same", strides=(2, 1), data_format=cf, activation="relu")(x)
    outs = [
        c,
        K.layers.Conv2D(2, 3, dilation_rate=(1, 2), data_format=cf)(x),
        K.layers.MaxPooling2D((3, 2), padding="same", data_format=cf)(c),
        K.layers.AveragePooling2D(2, strides=(1, 2), padding="same", data_format=cf)(x),
        K.layers.AveragePooling2D(2, data_format=cf)(x),
        K.layers.GlobalMaxPooling2D(data_format=cf, keepdims=True)(c),
        K.layers.GlobalAveragePooling2D(data_format=cf)(c),
    ]
    m = K.Model(x, outs)
    randomize(m, rng)
    return m, [_images(rng, 2, 3, 9, 8)]


@case("lrcn_video_classifier")
def _(K, era, rng):
    # Long-term recurrent convolutional network: a per-frame CNN, then an LSTM over frames.
    m = K.Sequential(
        [
            K.Input((None, 10, 9, 3)),
            K.layers.TimeDistributed(K.layers.Conv2D(4, 3, padding="same", activation="relu")),
            K.layers.TimeDistributed(K.layers.MaxPooling2D(2)),
            K.layers.TimeDistributed(K.layers.Conv2D(5, (3, 2), strides=(2, 1), activation="relu")),
            K.layers.TimeDistributed(K.layers.AveragePooling2D(2, padding="same")),
            K.layers.TimeDistributed(K.layers.Flatten()),
            K.layers.TimeDistributed(K.layers.Dense(8, activation="relu")),
            K.layers.LSTM(6),
            K.layers.Dense(3, activation="softmax"),
        ]
    )
    randomize(m, rng, 0.3)
    return m, [_images(rng, 2, 5, 10, 9, 3)]


@case("lrcn_global_pool_sequences")
def _(K, era, rng):
    m = K.Sequential(
        [
            K.Input((6, 8, 8, 2)),
            K.layers.TimeDistributed(K.layers.Conv2D(4, 3, dilation_rate=2, padding="same")),
            K.layers.TimeDistributed(K.layers.GlobalAveragePooling2D()),
            K.layers.GRU(5, return_sequences=True),
            K.layers.TimeDistributed(K.layers.Dense(2)),
        ]
    )
    randomize(m, rng, 0.3)
    return m, [_images(rng, 3, 6, 8, 8, 2)]


@case("crnn_text_line")
def _(K, era, rng):
    # CRNN for OCR: Conv2D blocks over a (H, W) line image, columns become timesteps.
    inp = K.Input((12, 20, 1))
    h = K.layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    h = K.layers.MaxPooling2D((2, 2))(h)  # (6, 10, 4)
    h = K.layers.Conv2D(6, 3, padding="valid", dilation_rate=(1, 2), activation="relu")(h)  # (4, 6, 6)
    h = K.layers.Conv2D(6, (2, 1), strides=(2, 1), padding="same")(h)  # (2, 6, 6)
    h = K.layers.MaxPooling2D((2, 1), padding="same")(h)  # (1, 6, 6)
    h = K.layers.Permute((2, 1, 3))(h)  # (6, 1, 6): width is time
    h = K.layers.Reshape((6, 6))(h)
    h = K.layers.Bidirectional(K.layers.GRU(5, return_sequences=True))(h)
    out = K.layers.Dense(7, activation="softmax")(h)
    m = K.Model(inp, out)
    randomize(m, rng, 0.3)
    return m, [_images(rng, 2, 12, 20, 1)]


@case("lrcn_channels_first_frames")
def _(K, era, rng):
    cf = "channels_first"
    m = K.Sequential(
        [
            K.Input((4, 2, 7, 6)),  # (T, C, H, W)
            K.layers.TimeDistributed(K.layers.Conv2D(3, (3, 2), padding="same", data_format=cf, activation="relu")),
            K.layers.TimeDistributed(K.layers.MaxPooling2D(2, data_format=cf)),
            K.layers.TimeDistributed(K.layers.GlobalMaxPooling2D(data_format=cf)),
            K.layers.LSTM(4, return_sequences=True),
        ]
    )
    randomize(m, rng, 0.3)
    return m, [_images(rng, 2, 4, 2, 7, 6)]


@case("crnn_variable_width")
def _(K, era, rng):
    # An OCR line of any width: the width axis stays free through the convolutions.
    inp = K.Input((8, None, 1))
    h = K.layers.Conv2D(3, 3, padding="same", activation="relu")(inp)
    h = K.layers.MaxPooling2D((2, 2), padding="same")(h)  # (4, W/2, 3)
    h = K.layers.Conv2D(4, (4, 1), padding="valid")(h)  # (1, W/2, 4)
    h = K.layers.Reshape((-1, 4))(h)
    h = K.layers.LSTM(5, return_sequences=True)(h)
    out = K.layers.Dense(3)(h)
    m = K.Model(inp, out)
    randomize(m, rng, 0.3)
    return m, [_images(rng, 2, 8, 11, 1)]
