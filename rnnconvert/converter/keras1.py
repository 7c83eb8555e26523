"""Keras 1.x configs and weights, rewritten into the Keras 2 form the layer converters read.

Keras 1 differs in three ways this module undoes (rules as in Keras 2.2's legacy loaders):

* config keys: ``output_dim`` -> ``units``, ``inner_activation`` -> ``recurrent_activation``
  (default ``hard_sigmoid``), Dense ``bias`` -> ``use_bias`` (``input_dtype`` is read by the
  walker as the model input's dtype);
* recurrent weights split per gate: LSTM ``W_i, U_i, b_i, W_c, U_c, b_c, W_f, U_f, b_f,
  W_o, U_o, b_o`` (gates stored i, c, f, o) become kernel / recurrent_kernel / bias with
  columns i, f, c, o; GRU ``W_z, U_z, b_z, W_r, U_r, b_r, W_h, U_h, b_h`` become z, r, h
  with ``reset_after=False`` (Keras 1's GRU). ``consume_less='gpu'`` layers already store
  the three fused arrays;
* ``Bidirectional`` stores ``forward_*`` then ``backward_*`` arrays of its inner layer;
* the layers around RNNs: ``Convolution1D`` / ``AtrousConvolution1D`` (``nb_filter``,
  ``filter_length``, ``border_mode``, ``subsample_length``, ``atrous_rate``; kernel
  stored (K, 1, D, F), or (F, D, K, 1) before Keras 1.1 -- Keras 2.2's rule -- and
  flipped along K when Theano trained it: Theano convolves, TensorFlow correlates),
  ``BatchNormalization`` (``mode`` 0 only; ``running_std`` holds the moving variance
  from Keras 1.0.6 on, and before that the value whose sum with epsilon divides),
  ``TimeDistributedDense`` (a Dense on every step). Pooling, padding, upsampling and
  the legacy ``Merge`` layer read their Keras 1 keys in their own converters.

Theano files are recognised by the ``backend`` attribute where Keras wrote one, else
by their weight names: TensorFlow variables always end in ``:0``, Theano's never do.

Weights are recognised by their names (``lstm_1_W_i:0``, Theano files without ``:0``),
never by position alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..runtime.spec import RECURRENT_FACTS
from .graph import Unsupported
from .keras_era import KERAS1_DEFAULTS, KERAS1_FIXED

_LSTM_GATES = list(RECURRENT_FACTS["LSTM"].gate_order)  # Keras 2 column order
_GRU_GATES = list(RECURRENT_FACTS["GRU"].gate_order)


def _suffix(name: str) -> str:
    """``lstm_1_W_i:0`` -> ``W_i``; ``dense_1_b`` -> ``b``."""
    base = name.split("/")[-1].split(":")[0]
    m = re.search(r"(?:^|_)([WUb](?:_[a-z])?)$", base)
    return m.group(1) if m else base


def _split_gates(names: list[str], arrays: list[np.ndarray], gates: list[str], where: str) -> list[np.ndarray]:
    by = {_suffix(n): a for n, a in zip(names, arrays)}
    try:
        kernel = np.concatenate([by[f"W_{g}"] for g in gates], axis=1)
        rec = np.concatenate([by[f"U_{g}"] for g in gates], axis=1)
        bias = np.concatenate([by[f"b_{g}"] for g in gates], axis=0)
    except KeyError as exc:
        raise Unsupported(f"Keras 1 {where} weights {sorted(by)} lack {exc}") from None
    return [kernel, rec, bias]


def _rename(cfg: dict[str, Any]) -> dict[str, Any]:
    out = dict(cfg)
    if "output_dim" in out and "units" not in out:
        out["units"] = out["output_dim"]
    if "inner_activation" in out:
        out["recurrent_activation"] = out["inner_activation"]
    if "bias" in out and "use_bias" not in out:
        out["use_bias"] = bool(out["bias"])
    return out


def _by_ending(names: list[str], arrays: list[np.ndarray], endings: list[str], where: str) -> list[np.ndarray]:
    """The arrays whose names end (before ``:0``) in each of ``endings``, in that order."""
    out = []
    for end in endings:
        hits = [a for n, a in zip(names, arrays) if n.split("/")[-1].split(":")[0].endswith(end)]
        if len(hits) != 1:
            raise Unsupported(f"Keras 1 {where} weights {names} have no single '{end}'")
        out.append(hits[0])
    return out


def _theano(names: list[str], backend: str | None) -> bool:
    if backend:
        return backend == "theano"
    return bool(names) and all(":" not in n for n in names)


def _old_batchnorm(version: str | None) -> bool:
    """Keras 1.0.0-1.0.5 divided by (running_std + epsilon), without a square root."""
    parts = (version or "").split(".")
    return (
        len(parts) >= 3 and parts[:2] == ["1", "0"] and parts[2].isascii() and parts[2].isdigit() and int(parts[2]) <= 5
    )


def _theano_flip(cfg: dict[str, Any], kernel: np.ndarray) -> np.ndarray:
    """Theano convolves (``T.nnet.conv2d`` flips its filter), TensorFlow correlates: the
    same kernel reversed in time (Keras 2.2's ``conv_utils.convert_kernel``). Theano's
    'same' ('half', cut to length) pads like TensorFlow only for odd kernels, stride 1."""
    size = kernel.shape[0]
    if cfg.get("padding") == "same" and (size % 2 == 0 or _first(cfg.get("strides", 1)) != 1):
        raise Unsupported("a Theano 'same' convolution with an even kernel or strides pads unlike TensorFlow")
    return np.ascontiguousarray(kernel[::-1])


def _first(value: Any) -> int:
    return int(value[0] if isinstance(value, (list, tuple)) else value)


def _theano_flip2d(cfg: dict[str, Any], kernel: np.ndarray) -> np.ndarray:
    """Conv2D's (KH, KW, C, F) kernel reversed along both spatial axes (``convert_kernel``),
    under the same 'same'-padding condition as 1-D, per axis."""
    strides = cfg.get("strides", 1)
    strides = list(strides) if isinstance(strides, (list, tuple)) else [strides, strides]
    odd = all(k % 2 == 1 and int(s) == 1 for k, s in zip(kernel.shape[:2], strides))
    if cfg.get("padding") == "same" and not odd:
        raise Unsupported("a Theano 'same' convolution with an even kernel or strides pads unlike TensorFlow")
    return np.ascontiguousarray(kernel[::-1, ::-1])


def theano_kernels(cls: str, cfg: dict[str, Any], arrays: list[np.ndarray]) -> list[np.ndarray]:
    """A Keras 2 file whose ``backend`` attribute says Theano: Conv1D / Conv2D / Conv3D /
    Conv2DTranspose kernels flipped (Keras 2.2's list)."""
    if cls == "Conv1D" and arrays:
        return [_theano_flip(cfg, arrays[0]), *arrays[1:]]
    if cls in ("Conv2D", "Convolution2D") and arrays:
        return [_theano_flip2d(cfg, arrays[0]), *arrays[1:]]
    from .keras1_conv import THEANO_FLIPPED, theano_flip_nd  # (it imports this module's helpers)

    if cls in THEANO_FLIPPED and arrays:
        return [theano_flip_nd(cfg, arrays[0], THEANO_FLIPPED[cls]), *arrays[1:]]
    inner = (cfg.get("layer") or {}).get("class_name")
    if cls == "TimeDistributed" and inner in ("Conv1D", "Conv2D", "Convolution2D", *THEANO_FLIPPED):
        raise Unsupported(f"TimeDistributed({inner}) from a Theano file")
    return arrays


_CONV2D_KEYS = (
    ("nb_filter", "filters"),
    ("subsample", "strides"),
    ("border_mode", "padding"),
    ("atrous_rate", "dilation_rate"),
)


def _conv2d(
    cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray], backend: str | None, notes: list[str]
) -> tuple[dict[str, Any], list[str], list[np.ndarray]]:
    """Keras 1 ``Convolution2D`` / ``AtrousConvolution2D``: kernel (F, C, KH, KW) with
    dim_ordering 'th' (channels first), (KH, KW, C, F) with 'tf' -- Keras 2.2's rule --
    and flipped on both spatial axes when Theano trained it."""
    cfg = {dict(_CONV2D_KEYS).get(key, key): v for key, v in cfg.items()}
    cfg["kernel_size"] = [int(cfg.pop("nb_row", 0)), int(cfg.pop("nb_col", 0))]
    cfg = _image_format(cfg)
    by = {_suffix(n): a for n, a in zip(names, arrays)}
    if "W" not in by or by["W"].ndim != 4:
        raise Unsupported(f"Keras 1 Convolution2D weights {names} have no 4-D W")
    w = by["W"]
    if cfg["data_format"] == "channels_first":
        w = np.transpose(w, (2, 3, 1, 0))
    if _theano(names, backend):
        w = _theano_flip2d(cfg, w)
        if not backend:
            notes.append(f"{cfg.get('name')}: read as trained by Theano (its weight names lack ':0'), kernel flipped")
    out = [np.ascontiguousarray(w)] + ([by["b"]] if "b" in by else [])
    return cfg, ["kernel", "bias"][: len(out)], out


def _image_format(cfg: dict[str, Any]) -> dict[str, Any]:
    """Keras 1 2-D layers: ``dim_ordering`` th/tf -> ``data_format``; ``border_mode`` -> ``padding``."""
    cfg = dict(cfg)
    ordering = cfg.pop("dim_ordering", "tf")
    if ordering not in ("th", "tf"):
        raise Unsupported(f"dim_ordering={ordering!r}")
    cfg["data_format"] = "channels_first" if ordering == "th" else "channels_last"
    if "border_mode" in cfg:
        cfg["padding"] = cfg.pop("border_mode")
    return cfg


def _conv1d(
    cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray], backend: str | None, notes: list[str]
) -> tuple[dict[str, Any], list[str], list[np.ndarray]]:
    cfg = dict(cfg)
    for old, new in (
        ("nb_filter", "filters"),
        ("filter_length", "kernel_size"),
        ("subsample_length", "strides"),
        ("border_mode", "padding"),
        ("atrous_rate", "dilation_rate"),
    ):
        if old in cfg:
            cfg[new] = cfg.pop(old)
    size, filters = int(cfg.get("kernel_size", 0)), int(cfg.get("filters", 0))
    by = {_suffix(n): a for n, a in zip(names, arrays)}
    if "W" not in by:
        raise Unsupported(f"Keras 1 convolution weights {names} have no W")
    w = by["W"]
    if w.ndim == 4:
        if w.shape[:2] != (size, 1) or w.shape[3] != filters:
            if w.shape[0] != filters or w.shape[2:] != (size, 1):
                raise Unsupported(f"Keras 1 convolution kernel of shape {w.shape} fits neither layout")
            w = np.transpose(w, (2, 3, 1, 0))  # Keras 1.0: (F, D, K, 1) -> (K, 1, D, F)
        w = w[:, 0]  # (K, D, F)
    if _theano(names, backend):
        w = _theano_flip(cfg, w)
        if not backend:
            notes.append(
                f"{cfg.get('name')}: read as trained by Theano (its weight names lack ':0'; Keras 1 records no"
                " backend), so its kernel is flipped in time"
            )
    out = [np.ascontiguousarray(w)] + ([by["b"]] if "b" in by else [])
    return cfg, ["kernel", "bias"][: len(out)], out


def _pool2d(
    cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray], backend: str | None, notes: list[str]
) -> tuple[dict[str, Any], list[str], list[np.ndarray]]:
    return _image_format(cfg), names, arrays


#: Keras 1 convolution and 2-D pooling layers: (config, names, arrays, backend, notes) -> Keras 2 form.
_SPATIAL = {
    "Convolution1D": _conv1d,
    "AtrousConvolution1D": _conv1d,
    "Convolution2D": _conv2d,
    "AtrousConvolution2D": _conv2d,
    **dict.fromkeys(("MaxPooling2D", "AveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling2D"), _pool2d),
    # pool helper: the 3-D pooling, 2-D/3-D padding, cropping and UpSampling3D layers
    **dict.fromkeys(
        (
            "MaxPooling3D",
            "AveragePooling3D",
            "GlobalMaxPooling3D",
            "GlobalAveragePooling3D",
            "ZeroPadding2D",
            "ZeroPadding3D",
            "Cropping2D",
            "Cropping3D",
            "UpSampling3D",
        ),
        _pool2d,
    ),
    "UpSampling2D": _pool2d,  # resize: size (rows, cols) and dim_ordering, as Keras 2 names them
}


_Result = tuple[dict[str, Any], list[str], list[np.ndarray]]


def normalize(
    cls: str,
    cfg: dict[str, Any],
    names: list[str],
    arrays: list[np.ndarray],
    *,
    backend: str | None = None,
    version: str | None = None,
    notes: list[str] | None = None,
) -> _Result:
    """Return (config, weight names, arrays) in Keras 2 form for one Keras 1 layer.
    ``backend`` and ``version`` are what the file records (None if nothing); guesses
    made are appended to ``notes``."""
    from .keras1_conv import KERAS1_CONV  # Convolution3D, Deconvolution2D, SeparableConvolution2D

    ctx = _Context(backend, version, notes if notes is not None else [])
    spatial = _SPATIAL.get(cls) or KERAS1_CONV.get(cls)
    if spatial is not None:
        return spatial(_rename(cfg), names, arrays, ctx.backend, ctx.notes)
    cfg = _rename(cfg)
    if cls in KERAS1_DEFAULTS:
        cfg = {**KERAS1_DEFAULTS[cls], **cfg, **KERAS1_FIXED.get(cls, {})}
    rule = _RULES.get(cls)
    return rule(cls, cfg, names, arrays, ctx) if rule is not None else (cfg, names, arrays)


@dataclass
class _Context:
    backend: str | None
    version: str | None
    notes: list[str]


def _batchnorm(cls: str, cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray], ctx: _Context) -> _Result:
    if int(cfg.get("mode", 0)) != 0:
        raise Unsupported(f"mode={cfg.get('mode')}: Keras 1 normalizes with each batch's own statistics")
    gamma, beta, mean, var = _by_ending(names, arrays, ["gamma", "beta", "running_mean", "running_std"], cls)
    cfg = {**cfg, "center": True, "scale": True}
    if _old_batchnorm(ctx.version):
        # y = (x - mean) / (running_std + eps): the same as a variance of
        # (running_std + eps)^2 with no epsilon.
        var = np.square(var.astype(np.float64) + float(cfg.get("epsilon", 1e-6))).astype(np.float32)
        cfg["epsilon"] = 0.0
    return cfg, ["gamma", "beta", "moving_mean", "moving_variance"], [gamma, beta, mean, var]


def _kernel_bias(cls: str, cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray], ctx: _Context) -> _Result:
    """Dense and TimeDistributedDense: ``W`` (and ``b``)."""
    by = {_suffix(n): a for n, a in zip(names, arrays)}
    if "W" not in by:
        if cls == "Dense":
            return cfg, names, arrays
        raise Unsupported(f"Keras 1 {cls} weights {names} have no W")
    return cfg, ["kernel", "bias"][: len(arrays)], [by["W"]] + ([by["b"]] if "b" in by else [])


def _gated(cls: str, cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray], ctx: _Context) -> _Result:
    if len(arrays) == 3:  # consume_less='gpu': already fused, Keras 2 order
        return cfg, names, arrays
    gates = _LSTM_GATES if cls == "LSTM" else _GRU_GATES
    return cfg, ["kernel", "recurrent_kernel", "bias"], _split_gates(names, arrays, gates, cls)


def _simple_rnn(cls: str, cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray], ctx: _Context) -> _Result:
    by = {_suffix(n): a for n, a in zip(names, arrays)}
    if set(by) >= {"W", "U", "b"}:
        return cfg, ["kernel", "recurrent_kernel", "bias"], [by["W"], by["U"], by["b"]]
    return cfg, names, arrays


def _inner(cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray], ctx: _Context) -> _Result:
    inner = cfg.get("layer") or {}
    ncfg, n2, a2 = normalize(
        str(inner.get("class_name")),
        dict(inner.get("config") or {}),
        names,
        arrays,
        backend=ctx.backend,
        version=ctx.version,
        notes=ctx.notes,
    )
    return {"class_name": inner.get("class_name"), "config": ncfg}, n2, a2


def _bidirectional(cls: str, cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray], ctx: _Context) -> _Result:
    fw = [(n, a) for n, a in zip(names, arrays) if n.split("/")[-1].startswith("forward_")]
    bw = [(n, a) for n, a in zip(names, arrays) if n.split("/")[-1].startswith("backward_")]
    if len(fw) + len(bw) != len(arrays):
        raise Unsupported("Keras 1 Bidirectional weights are not all forward_/backward_")
    out_names, out_arrays = [], []
    for part in (fw, bw):
        layer, n2, a2 = _inner(cfg, [n for n, _ in part], [a for _, a in part], ctx)
        out_names += n2
        out_arrays += a2
    cfg["layer"] = layer
    return cfg, out_names, out_arrays


def _time_distributed(
    cls: str, cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray], ctx: _Context
) -> _Result:
    cfg["layer"], n2, a2 = _inner(cfg, names, arrays, ctx)
    return cfg, n2, a2


def _embedding(cls: str, cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray], ctx: _Context) -> _Result:
    return cfg, ["embeddings"] if arrays else names, arrays  # Keras 1's embedding dropout: identity at inference


def _dropout(cls: str, cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray], ctx: _Context) -> _Result:
    return {**cfg, "rate": cfg.get("p", cfg.get("rate", 0.0))}, names, arrays


_RULES = {
    "BatchNormalization": _batchnorm,
    "TimeDistributedDense": _kernel_bias,
    "Dense": _kernel_bias,
    "LSTM": _gated,
    "GRU": _gated,
    "SimpleRNN": _simple_rnn,
    "Bidirectional": _bidirectional,
    "TimeDistributed": _time_distributed,
    "Embedding": _embedding,
    "Dropout": _dropout,
}
