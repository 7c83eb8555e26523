"""Keras cases for Conv3D, grouped Conv1D, the transposed convolutions, the depthwise and
separable convolutions (FORMAT.md 5.26-5.29) in every era and format: each padding with
strides, dilation and output_padding on odd sizes, both data formats, TimeDistributed around
each, and whole models -- a ConvLSTM2D with a Conv3D head, and Bidirectional(ConvLSTM2D)
followed by these heads. Few multi-output models: each zoo case costs CI time per era."""

from __future__ import annotations

import numpy as np
from keras_zoo import case, randomize


def _x(rng, *shape):
    return rng.normal(0, 1, shape).astype(np.float32)


@case("conv3d_options")
def _(K, era, rng):
    L = K.layers
    x = K.Input((5, 6, 7, 4))  # odd and even sizes
    cf = K.Input((3, 5, 4, 3))  # (C, D, H, W)
    outs = [
        L.Conv3D(3, (3, 2, 3), padding=p, strides=s, dilation_rate=d, activation="relu")(x)
        for p in ("valid", "same")
        for s, d in (((1, 1, 1), (1, 1, 1)), ((2, 3, 1), (1, 1, 1)), ((1, 1, 1), (2, 1, 2)))
    ]
    outs += [
        L.Conv3D(2, (6, 3, 8), padding="same")(x),  # kernel larger than the input
        L.Conv3D(4, 2, groups=2, use_bias=False, activation="tanh")(x),
        # (Keras 3.15's TF backend gets channels_first + same + strides 2 on every axis wrong on
        # CPU: it disagrees with its own channels_last result and with tf_keras.)
        L.Convolution3D(2, 3, padding="same", strides=(1, 2, 1), data_format="channels_first")(cf),
        L.Conv3D(2, (2, 3, 1), dilation_rate=(1, 1, 2), data_format="channels_first")(cf),
    ]
    m = K.Model([x, cf], outs)
    randomize(m, rng)
    return m, [_x(rng, 2, 5, 6, 7, 4), _x(rng, 2, 3, 5, 4, 3)]


@case("conv_transpose_options")
def _(K, era, rng):
    L = K.layers
    x1, x2, x3 = K.Input((5, 3)), K.Input((5, 4, 3)), K.Input((3, 4, 2, 2))
    c2 = K.Input((3, 5, 4))  # channels_first
    outs = []
    for p in ("valid", "same"):
        outs += [
            L.Conv1DTranspose(2, 3, strides=2, padding=p)(x1),
            L.Conv1DTranspose(2, 4, strides=3, output_padding=2, padding=p, activation="relu")(x1),
            L.Conv1DTranspose(2, 3, dilation_rate=2, padding=p)(x1),
            L.Conv2DTranspose(3, (3, 2), strides=(2, 3), padding=p)(x2),
            L.Conv2DTranspose(3, (4, 3), strides=(3, 2), output_padding=(1, 0), padding=p)(x2),
            L.Conv2DTranspose(2, 3, dilation_rate=2, padding=p, use_bias=False)(x2),  # tf_keras: equal rates
            L.Conv3DTranspose(2, (3, 2, 2), strides=(2, 1, 3), padding=p)(x3),
            L.Conv3DTranspose(2, 3, strides=2, output_padding=(1, 0, 1), padding=p)(x3),
            L.Conv3DTranspose(2, (2, 1, 3), strides=(1, 2, 2), padding=p, data_format="channels_first")(x3),
        ]
        if era == "keras3":  # tf_keras's Conv2DTranspose refuses channels_first on CPU
            outs.append(L.Conv2DTranspose(2, (1, 2), strides=2, padding=p, data_format="channels_first")(c2))
    m = K.Model([x1, x2, x3, c2], outs)
    randomize(m, rng)
    return m, [_x(rng, 2, 5, 3), _x(rng, 2, 5, 4, 3), _x(rng, 2, 3, 4, 2, 2), _x(rng, 2, 3, 5, 4)]


@case("depthwise_separable_grouped")
def _(K, era, rng):
    L = K.layers
    x1, x2 = K.Input((9, 4)), K.Input((7, 6, 3))
    cf = K.Input((3, 7, 6))
    outs = [
        L.Conv1D(6, 3, groups=2, padding="same", activation="relu")(x1),
        L.Conv1D(4, 2, groups=4, padding="causal", dilation_rate=2)(x1),
        L.Conv1D(2, 3, groups=2, strides=2)(x1),
        L.SeparableConv1D(5, 3, depth_multiplier=2, strides=2, padding="same")(x1),
        L.SeparableConv1D(3, 2, dilation_rate=3, use_bias=False, activation="tanh")(x1),
        L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, strides=2)(x2),
        L.DepthwiseConv2D((2, 3), dilation_rate=(2, 1), activation="relu")(x2),
        L.DepthwiseConv2D(3, data_format="channels_first", use_bias=False)(cf),
        L.SeparableConv2D(4, 3, depth_multiplier=2, padding="same", strides=(1, 2))(x2),
        L.SeparableConv2D(2, (3, 2), dilation_rate=2, activation="sigmoid")(x2),
        L.SeparableConv2D(3, 2, data_format="channels_first", depth_multiplier=2)(cf),
    ]
    if era == "keras3":  # tf_keras has no DepthwiseConv1D
        outs.append(L.DepthwiseConv1D(3, depth_multiplier=2, padding="same", strides=2)(x1))
    else:  # Keras 3 refuses causal padding outside Conv1D
        outs.append(L.SeparableConv1D(3, 3, padding="causal", dilation_rate=2)(x1))
    m = K.Model([x1, x2, cf], outs)
    randomize(m, rng)
    return m, [_x(rng, 2, 9, 4), _x(rng, 2, 7, 6, 3), _x(rng, 2, 3, 7, 6)]


@case("conv_time_distributed")
def _(K, era, rng):
    # Each new layer under TimeDistributed: folded onto (batch * time) rows, streams per frame.
    L, TD = K.layers, K.layers.TimeDistributed
    seq2 = K.Input((None, 6, 5, 2))
    seq3 = K.Input((None, 3, 4, 4, 2))
    seq1 = K.Input((None, 7, 4))
    outs = [
        TD(L.Conv3D(2, 2, padding="same"))(seq3),
        TD(L.Conv3DTranspose(2, 2, strides=2))(seq3),
        TD(L.Conv2DTranspose(2, 3, strides=2, padding="same"))(seq2),
        TD(L.DepthwiseConv2D(2, depth_multiplier=2))(seq2),
        TD(L.SeparableConv2D(3, 3, padding="same"))(seq2),
        TD(L.Conv1DTranspose(2, 3, strides=2))(seq1),
        TD(L.SeparableConv1D(2, 3))(seq1),
        TD(L.Conv1D(4, 3, groups=2))(seq1),
    ]
    if era == "keras3":
        outs.append(TD(L.DepthwiseConv1D(2, depth_multiplier=2))(seq1))
    m = K.Model([seq2, seq3, seq1], outs)
    randomize(m, rng)
    return m, [_x(rng, 2, 3, 6, 5, 2), _x(rng, 2, 3, 3, 4, 4, 2), _x(rng, 2, 3, 7, 4)]


@case("conv_lstm2d_conv3d_head")
def _(K, era, rng):
    # Nowcasting shape: ConvLSTM2D over frames, then a Conv3D head over (time, H, W).
    L = K.layers
    x = K.Input((4, 8, 8, 1))
    h = L.ConvLSTM2D(4, 3, padding="same", return_sequences=True)(x)
    h = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True)(h)
    y = L.Conv3D(1, (3, 3, 3), padding="same", activation="sigmoid")(h)
    m = K.Model(x, y)
    randomize(m, rng, 0.3)
    return m, [_x(rng, 2, 4, 8, 8, 1)]


@case("bidirectional_conv_lstm2d_heads")
def _(K, era, rng):
    L, TD = K.layers, K.layers.TimeDistributed
    x = K.Input((3, 6, 5, 2))
    h = L.Bidirectional(L.ConvLSTM2D(2, 3, padding="same", return_sequences=True))(x)  # (3, 6, 5, 4)
    outs = [
        L.Conv3D(2, (2, 3, 3), padding="same", activation="relu")(h),
        L.Conv3DTranspose(1, (1, 2, 2), strides=(1, 2, 2))(h),
        TD(L.SeparableConv2D(2, 3))(h),
        TD(L.DepthwiseConv2D(3, padding="same"))(h),
        TD(L.Conv2DTranspose(2, 2, strides=2, activation="sigmoid"))(h),
    ]
    last = L.Bidirectional(L.ConvLSTM2D(2, 3, padding="same"), merge_mode="sum")(x)  # (6, 5, 2)
    outs.append(L.Conv2DTranspose(1, 3, strides=2, padding="same")(last))
    m = K.Model(x, outs)
    randomize(m, rng, 0.3)
    return m, [_x(rng, 2, 3, 6, 5, 2)]
