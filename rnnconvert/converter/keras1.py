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
* ``Bidirectional`` stores ``forward_*`` then ``backward_*`` arrays of its inner layer.

Weights are recognised by their names (``lstm_1_W_i:0``, Theano files without ``:0``),
never by position alone.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .graph import Unsupported

_LSTM_GATES = ["i", "f", "c", "o"]  # Keras 2 column order
_GRU_GATES = ["z", "r", "h"]


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


def normalize(
    cls: str, cfg: dict[str, Any], names: list[str], arrays: list[np.ndarray]
) -> tuple[dict[str, Any], list[str], list[np.ndarray]]:
    """Return (config, weight names, arrays) in Keras 2 form for one Keras 1 layer."""
    cfg = _rename(cfg)
    if cls in ("LSTM", "GRU"):
        cfg.setdefault("recurrent_activation", "hard_sigmoid")
        cfg.setdefault("activation", "tanh")
        if cls == "GRU":
            cfg["reset_after"] = False
        if len(arrays) == 3:  # consume_less='gpu': already fused, Keras 2 order
            return cfg, names, arrays
        gates = _LSTM_GATES if cls == "LSTM" else _GRU_GATES
        return cfg, ["kernel", "recurrent_kernel", "bias"], _split_gates(names, arrays, gates, cls)
    if cls == "SimpleRNN":
        cfg.setdefault("activation", "tanh")
        by = {_suffix(n): a for n, a in zip(names, arrays)}
        if set(by) >= {"W", "U", "b"}:
            return cfg, ["kernel", "recurrent_kernel", "bias"], [by["W"], by["U"], by["b"]]
        return cfg, names, arrays
    if cls == "Bidirectional":
        inner = cfg.get("layer") or {}
        icls, icfg = inner.get("class_name"), dict(inner.get("config") or {})
        fw = [(n, a) for n, a in zip(names, arrays) if n.split("/")[-1].startswith("forward_")]
        bw = [(n, a) for n, a in zip(names, arrays) if n.split("/")[-1].startswith("backward_")]
        if len(fw) + len(bw) != len(arrays):
            raise Unsupported("Keras 1 Bidirectional weights are not all forward_/backward_")
        out_names, out_arrays = [], []
        for part in (fw, bw):
            ncfg, n2, a2 = normalize(str(icls), icfg, [n for n, _ in part], [a for _, a in part])
            out_names += n2
            out_arrays += a2
        cfg["layer"] = {"class_name": icls, "config": ncfg}
        return cfg, out_names, out_arrays
    if cls == "Dense":
        by = {_suffix(n): a for n, a in zip(names, arrays)}
        if "W" in by:
            return cfg, ["kernel", "bias"][: len(arrays)], [by["W"]] + ([by["b"]] if "b" in by else [])
        return cfg, names, arrays
    if cls == "Embedding":  # Keras 1's embedding dropout is an identity at inference
        return cfg, ["embeddings"] if arrays else names, arrays
    if cls in ("TimeDistributed",):
        inner = cfg.get("layer") or {}
        ncfg, n2, a2 = normalize(str(inner.get("class_name")), dict(inner.get("config") or {}), names, arrays)
        cfg["layer"] = {"class_name": inner.get("class_name"), "config": ncfg}
        return cfg, n2, a2
    if cls == "Dropout":
        return {**cfg, "rate": cfg.get("p", cfg.get("rate", 0.0))}, names, arrays
    return cfg, names, arrays
