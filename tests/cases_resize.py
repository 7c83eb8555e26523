"""Keras cases for Resizing (every interpolation each era offers, up and down, antialias,
crop_to_aspect_ratio, pad_to_aspect_ratio with its fill value), UpSampling2D (nearest,
bilinear and the rest tf_keras takes), CenterCrop (crop and upsize branches), Rescaling
(scalar and per-channel), both data formats, and TimeDistributed around each in a model
that streams frame by frame."""

from __future__ import annotations

import numpy as np
from keras_zoo import case, randomize

K3_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "area", "lanczos3", "lanczos5")
TFK_INTERPOLATIONS = (*K3_INTERPOLATIONS, "gaussian", "mitchellcubic")


def _interpolations(era: str) -> tuple[str, ...]:
    return K3_INTERPOLATIONS if era == "keras3" else TFK_INTERPOLATIONS


def _images(rng, *shape):
    return rng.normal(0, 1, shape).astype(np.float32)


@case("resizing_every_interpolation")
def _(K, era, rng):
    x = K.Input((7, 10, 2))  # odd and even sides
    outs = []
    for interp in _interpolations(era):
        outs.append(K.layers.Resizing(3, 4, interpolation=interp)(x))  # down on both axes
        outs.append(K.layers.Resizing(11, 13, interpolation=interp)(x))  # up on both axes
        if era == "keras3":  # tf_keras's Resizing has no antialias
            outs.append(K.layers.Resizing(4, 15, interpolation=interp, antialias=True)(x))  # down / up
    outs.append(K.layers.Resizing(5, 6, crop_to_aspect_ratio=True)(x))
    outs.append(K.layers.Resizing(9, 4, interpolation="bicubic", crop_to_aspect_ratio=True)(x))
    if era == "keras3":
        outs.append(K.layers.Resizing(5, 6, pad_to_aspect_ratio=True, fill_value=0.75)(x))  # pads rows
        outs.append(K.layers.Resizing(12, 5, pad_to_aspect_ratio=True, interpolation="area")(x))  # pads cols
        outs.append(K.layers.Resizing(6, 3, data_format="channels_first", interpolation="lanczos3")(x))
    m = K.Model(x, outs)
    return m, [_images(rng, 2, 7, 10, 2)]


@case("upsampling2d_centercrop_rescaling")
def _(K, era, rng):
    x = K.Input((5, 6, 3))
    outs = [
        K.layers.UpSampling2D()(x),
        K.layers.UpSampling2D((3, 2), interpolation="bilinear")(x),
        K.layers.UpSampling2D((2, 3), data_format="channels_first")(x),
        K.layers.UpSampling2D(2, interpolation="bilinear", data_format="channels_first")(x),
        K.layers.CenterCrop(3, 4)(x),  # crops
        K.layers.CenterCrop(4, 5)(x),  # odd margins
        K.layers.CenterCrop(8, 4)(x),  # larger on one axis: smart_resize
        K.layers.Rescaling(1.0 / 255)(x),
        K.layers.Rescaling(0.5, offset=-1.0)(x),
        K.layers.Rescaling([0.5, 2.0, -1.0], offset=[0.1, 0.2, 0.3])(x),  # per channel
    ]
    for interp in ("bicubic", "area", "lanczos3") + (() if era == "keras3" else ("gaussian", "mitchellcubic")):
        outs.append(K.layers.UpSampling2D((2, 3), interpolation=interp)(x))
    if era == "keras3":
        outs.append(K.layers.CenterCrop(2, 3, data_format="channels_first")(x))
    m = K.Model(x, outs)
    return m, [_images(rng, 2, 5, 6, 3)]


@case("time_distributed_resize_lrcn")
def _(K, era, rng):
    # video frames: rescale, resize, crop, upsample per frame, then a small CNN and an LSTM
    td = K.layers.TimeDistributed
    m = K.Sequential(
        [
            K.Input((None, 9, 11, 3)),
            td(K.layers.Rescaling(1.0 / 4, offset=-0.5)),
            td(K.layers.Resizing(6, 8, interpolation="bicubic")),
            td(K.layers.CenterCrop(5, 6)),
            td(K.layers.UpSampling2D((2, 1), interpolation="bilinear")),
            td(K.layers.Conv2D(3, 3, strides=2, activation="relu")),
            td(K.layers.Flatten()),
            K.layers.LSTM(4),
        ]
    )
    randomize(m, rng, 0.3)
    return m, [_images(rng, 2, 4, 9, 11, 3) * 4]


@case("rescaling_masked_sequence")
def _(K, era, rng):
    # Keras 3's Rescaling passes the mask on to the LSTM; tf_keras's drops it
    x = K.Input((6, 3))
    h = K.layers.Masking(0.0)(x)
    h = K.layers.Rescaling([2.0, -1.0, 0.5], offset=0.25)(h)
    m = K.Model(x, K.layers.LSTM(4, return_sequences=True)(h))
    randomize(m, rng)
    xs = _images(rng, 3, 6, 3)
    xs[0, 4:] = 0.0
    xs[1, :2] = 0.0
    return m, [xs]
