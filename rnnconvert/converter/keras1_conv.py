"""Keras 1 ``Convolution3D``, ``Deconvolution2D`` and ``SeparableConvolution2D`` rewritten into
the Keras 2 form (Keras 2.2's loader rules; FORMAT.md 5.29), and the Theano kernel flip of
Conv3D / Conv2DTranspose. keras1.py dispatches here."""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph import Unsupported
from .keras1 import _CONV2D_KEYS, _image_format, _suffix, _theano

_Result = tuple[dict[str, Any], list[str], list[np.ndarray]]


def theano_flip_nd(cfg: dict[str, Any], kernel: np.ndarray, n: int) -> np.ndarray:
    """A Conv3D / Conv2DTranspose kernel reversed along its n spatial axes (Keras 2.2's
    ``convert_kernel`` for Theano files), under 1-D's 'same'-padding condition, per axis."""
    strides = cfg.get("strides", 1)
    strides = list(strides) if isinstance(strides, (list, tuple)) else [strides] * n
    odd = all(k % 2 == 1 and int(s) == 1 for k, s in zip(kernel.shape[:n], strides))
    if cfg.get("padding") == "same" and not odd:
        raise Unsupported("a Theano 'same' convolution with an even kernel or strides pads unlike TensorFlow")
    return np.ascontiguousarray(np.flip(kernel, axis=tuple(range(n))))


#: Keras 2 classes whose kernel Keras 2.2 flipped on loading a Theano file -> spatial axes.
THEANO_FLIPPED = {"Conv3D": 3, "Convolution3D": 3, "Conv2DTranspose": 2, "Deconvolution2D": 2}


def _conv3d(
    cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray], backend: str | None, notes: list[str]
) -> _Result:
    """Keras 1 ``Convolution3D`` (``kernel_dim1..3``): W (F, C, k1, k2, k3) with 'th',
    (k1, k2, k3, C, F) with 'tf' (Keras 2.2's rule), flipped on its 3 axes from Theano."""
    cfg = {dict(_CONV2D_KEYS).get(key, key): v for key, v in cfg.items()}
    cfg["kernel_size"] = [int(cfg.pop(f"kernel_dim{i}", 0)) for i in (1, 2, 3)]
    cfg = _image_format(cfg)
    w, rest = _w_and_bias(names, arrays, 5, "Convolution3D")
    if cfg["data_format"] == "channels_first":
        w = np.transpose(w, (2, 3, 4, 1, 0))
    return cfg, ["kernel", "bias"][: 1 + len(rest)], [_theano_k1(cfg, w, 3, names, backend, notes), *rest]


def _deconv2d(
    cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray], backend: str | None, notes: list[str]
) -> _Result:
    """Keras 1 ``Deconvolution2D``: W (rows, cols, C_in, F) with 'tf', (F, C_in, rows, cols)
    with 'th', made Keras 2's (rows, cols, F, C_in) (Keras 2.2's rule). Its ``output_shape``
    is kept: the converter reads the output padding it implies."""
    cfg = {dict(_CONV2D_KEYS).get(key, key): v for key, v in cfg.items()}
    cfg["kernel_size"] = [int(cfg.pop("nb_row", 0)), int(cfg.pop("nb_col", 0))]
    cfg = _image_format(cfg)
    w, rest = _w_and_bias(names, arrays, 4, "Deconvolution2D")
    w = np.transpose(w, (2, 3, 0, 1) if cfg["data_format"] == "channels_first" else (0, 1, 3, 2))
    return cfg, ["kernel", "bias"][: 1 + len(rest)], [_theano_k1(cfg, w, 2, names, backend, notes), *rest]


def _separable2d(
    cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray], backend: str | None, notes: list[str]
) -> _Result:
    """Keras 1 ``SeparableConvolution2D`` (TensorFlow only): depthwise (rows, cols, C, M) and
    pointwise (1, 1, C*M, F) with 'tf'; (M, C, rows, cols) and (F, C*M, 1, 1) with 'th'
    (Keras 1's backend transposed both by (2, 3, 1, 0))."""
    cfg = {dict(_CONV2D_KEYS).get(key, key): v for key, v in cfg.items()}
    cfg["kernel_size"] = [int(cfg.pop("nb_row", 0)), int(cfg.pop("nb_col", 0))]
    cfg = _image_format(cfg)
    by = {n.split("/")[-1].split(":")[0]: a for n, a in zip(names, arrays)}
    found = {end: a for end in ("depthwise_kernel", "pointwise_kernel", "b") for k, a in by.items() if k.endswith(end)}
    if not {"depthwise_kernel", "pointwise_kernel"} <= set(found):
        raise Unsupported(f"Keras 1 SeparableConvolution2D weights {names} lack a depthwise or pointwise kernel")
    kernels = [found["depthwise_kernel"], found["pointwise_kernel"]]
    if cfg["data_format"] == "channels_first":
        kernels = [np.ascontiguousarray(np.transpose(k, (2, 3, 1, 0))) for k in kernels]
    out = kernels + ([found["b"]] if "b" in found else [])
    return cfg, ["depthwise_kernel", "pointwise_kernel", "bias"][: len(out)], out


def _w_and_bias(names: list[str], arrays: list[np.ndarray], rank: int, cls: str) -> tuple[np.ndarray, list[np.ndarray]]:
    by = {_suffix(n): a for n, a in zip(names, arrays)}
    if "W" not in by or by["W"].ndim != rank:
        raise Unsupported(f"Keras 1 {cls} weights {names} have no {rank}-D W")
    return by["W"], [by["b"]] if "b" in by else []


def _theano_k1(
    cfg: dict[str, Any], w: np.ndarray, n: int, names: list[str], backend: str | None, notes: list[str]
) -> np.ndarray:
    if _theano(names, backend):
        w = theano_flip_nd(cfg, w, n)
        if not backend:
            notes.append(f"{cfg.get('name')}: read as trained by Theano (its weight names lack ':0'), kernel flipped")
    return np.ascontiguousarray(w)


#: Keras 1 class -> (config, names, arrays, backend, notes) -> Keras 2 form.
KERAS1_CONV = {"Convolution3D": _conv3d, "Deconvolution2D": _deconv2d, "SeparableConvolution2D": _separable2d}
