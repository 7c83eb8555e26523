"""The augmentation layers at inference (FORMAT.md 5.45).

Keras applies them only when ``training=True``; at inference (``predict``, or a call with
``training=False``) each returns its input unchanged, whatever its factors -- checked
against Keras 3.15 and tf_keras 2.21 layer by layer (tests/cases_norm.py). They convert to
no node. Exceptions:

* ``RandomCrop``: tf_keras crops the centre to the target's aspect ratio and resizes it
  bilinearly to (height, width) (``smart_resize``), emitted as the resize helper's
  ``Resize2D`` op; Keras 3.15 returns the input unchanged (its ``transform_images`` does
  nothing when not training, although the layer's symbolic output shape is the cropped one).
* ``AutoContrast`` is not random and acts at inference too: an ``AutoContrast`` node.
  ``ContrastLimitedAdaptiveHistogramEqualization`` does too: refused by name.
"""

from __future__ import annotations

import math

from ..graph import BadConfig, GraphBuilder, LayerCall, Tensor, Unsupported
from .common import one_input
from .core import convert_identity

#: Augmentation layers that are the identity at inference (Keras 3.15 and, where they
#: exist, tf_keras 2.21).
IDENTITY_AT_INFERENCE = (
    "RandomFlip",
    "RandomRotation",
    "RandomZoom",
    "RandomTranslation",
    "RandomContrast",
    "RandomBrightness",
    "RandomHue",
    "RandomSaturation",
    "RandomSharpness",
    "RandomColorDegeneration",
    "RandomColorJitter",
    "RandomPosterization",
    "RandomShear",
    "RandomGaussianBlur",
    "RandomErasing",
    "RandomElasticTransform",
    "RandomPerspective",
    "RandomGrayscale",
    "RandomInvert",
    "RandomHeight",  # tf_keras
    "RandomWidth",  # tf_keras
    "Solarization",
    "Equalization",
    "AugMix",
    "RandAugment",
    "CutMix",
    "MixUp",
    "MaxNumBoundingBoxes",  # acts on bounding boxes only
)

_NOT_IDENTITY = {
    "ContrastLimitedAdaptiveHistogramEqualization": "CLAHE equalises every image at inference too; not converted",
}


def _augmentation(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    if x.dtype != "float32":
        # Keras casts some of them to float and leaves others alone: not guessed
        raise Unsupported(f"{call.class_name} on a {x.dtype} input (Keras casts it to float)")
    return convert_identity(call, b)


def _refuse(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    raise Unsupported(_NOT_IDENTITY[call.class_name])


def convert_auto_contrast(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    vr = call.opt("value_range", [0, 255])
    ok = isinstance(vr, (list, tuple)) and len(vr) == 2
    if not ok or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in vr):
        raise BadConfig(f"value_range: expected two numbers, got {vr!r}")
    if x.dtype != "float32" or x.rank != 4:
        raise Unsupported(f"AutoContrast on a {x.dtype} input of shape {x.shape}: float32 image batches only")
    return b.node(
        "AutoContrast",
        name=call.name,
        inputs=[x],
        config={"value_range": [float(vr[0]), float(vr[1])]},
        outputs=[(x.shape, "float32")],
        layer=call,
    )


def convert_random_crop(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    height, width = call.int_opt("height", minimum=1), call.int_opt("width", minimum=1)
    data_format = call.opt("data_format") or "channels_last"
    if data_format not in ("channels_last", "channels_first") or x.rank != 4:
        raise Unsupported(f"RandomCrop on input {x.shape} with data_format {data_format!r}: batched images only")
    if call.era.major >= 3:
        return _augmentation(call, b)  # Keras 3.15: unchanged at inference (module docstring)
    from ...runtime.spec import SPECS  # the resize helper's op (format 1.3.0)

    if "Resize2D" not in SPECS:
        raise Unsupported("RandomCrop at inference resizes (tf_keras smart_resize): needs the Resize2D op")
    hw = (1, 2) if data_format == "channels_last" else (2, 3)
    shape = list(x.shape)
    shape[hw[0]], shape[hw[1]] = height, width
    size_key = "output_size" if "output_size" in SPECS["Resize2D"].config else "size"  # its name settled late
    config = {
        size_key: [height, width],
        "interpolation": "bilinear",
        "antialias": False,
        "aspect": "crop",
        "fill_value": 0.0,
        "data_format": data_format,
    }
    return b.node(
        "Resize2D",
        name=call.name,
        inputs=[x],
        config=config,
        outputs=[(tuple(shape), "float32")],
        layer=call,
    )


AUGMENT_CONVERTERS = {
    **{name: _augmentation for name in IDENTITY_AT_INFERENCE},
    **{name: _refuse for name in _NOT_IDENTITY},
    "RandomCrop": convert_random_crop,
    "AutoContrast": convert_auto_contrast,
}
