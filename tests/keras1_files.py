"""Keras 1.2.2 files written with h5py, layer by layer, as Keras 1.2.2 wrote them.

Keras 1 cannot be installed next to TensorFlow 2.21. What Keras 1.2.2 wrote is read off
its source (tag 1.2.2 of github.com/keras-team/keras) and matches the real Keras 1.2.2
files in ``tests/data/legacy``:

* ``models.save_model``: root attributes ``keras_version`` and ``model_config``
  (``{"class_name": "Sequential" | "Model", "config": model.get_config()}``) -- no
  ``backend`` attribute; group ``model_weights`` with ``layer_names`` (the *flattened*
  layers of a Sequential, i.e. the layers of merged sub-models too) and a group per
  layer with ``weight_names`` and its datasets. ``save_weights`` writes the same
  attributes at the root of a weights-only file.
* Variable names: ``<layer>_<param>`` plus ``:0`` under TensorFlow (``lstm_1_W_i:0``),
  no suffix under Theano (``lstm_1_W_i``).
* ``Sequential.get_config`` is a list of ``{"class_name", "config"}``;
  ``Model.get_config`` has ``name``, ``layers`` (each with ``name``, ``class_name``,
  ``config``, ``inbound_nodes`` of ``[layer, node, tensor]`` triples), ``input_layers``,
  ``output_layers``. A ``Merge`` of models as a Sequential's first layer carries the
  merged models' configs under ``layers`` (``Sequential.legacy_get_config``).
* Per-layer ``get_config`` keys as below (``name``, ``trainable`` and, for the layer that
  starts a Sequential, ``batch_input_shape`` and ``input_dtype``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np


class K1Layer:
    """One Keras 1 layer: its class, config, and named weights (Keras 1 layout)."""

    def __init__(self, cls: str, name: str, config: dict[str, Any], weights: list[tuple[str, np.ndarray]] = ()):
        self.cls, self.name, self.weights = cls, name, list(weights)
        self.config = {"name": name, "trainable": True, **config}

    def entry(self) -> dict[str, Any]:
        return {"class_name": self.cls, "config": self.config}


def _rng_array(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 0.4) -> np.ndarray:
    return rng.normal(0, scale, shape).astype(np.float32)


def lstm(rng, name, d, h, *, consume_less="cpu", **cfg) -> K1Layer:
    config = {
        "output_dim": h,
        "init": "glorot_uniform",
        "inner_init": "orthogonal",
        "forget_bias_init": "one",
        "activation": "tanh",
        "inner_activation": "hard_sigmoid",
        "W_regularizer": None,
        "U_regularizer": None,
        "b_regularizer": None,
        "dropout_W": 0.0,
        "dropout_U": 0.0,
        "return_sequences": False,
        "go_backwards": False,
        "stateful": False,
        "unroll": False,
        "consume_less": consume_less,
        "input_dim": d,
        "input_length": None,
        **cfg,
    }
    if consume_less == "gpu":  # fused, gates i, f, c, o
        ws = [("W", (d, 4 * h)), ("U", (h, 4 * h)), ("b", (4 * h,))]
    else:  # per gate, stored i, c, f, o
        ws = [(f"{p}_{g}", s) for g in "icfo" for p, s in (("W", (d, h)), ("U", (h, h)), ("b", (h,)))]
    return K1Layer("LSTM", name, config, [(f"{name}_{p}", _rng_array(rng, s)) for p, s in ws])


def gru(rng, name, d, h, **cfg) -> K1Layer:
    config = {
        "output_dim": h,
        "init": "glorot_uniform",
        "inner_init": "orthogonal",
        "activation": "tanh",
        "inner_activation": "hard_sigmoid",
        "W_regularizer": None,
        "U_regularizer": None,
        "b_regularizer": None,
        "dropout_W": 0.0,
        "dropout_U": 0.0,
        "return_sequences": False,
        "go_backwards": False,
        "stateful": False,
        "unroll": False,
        "consume_less": "cpu",
        "input_dim": d,
        "input_length": None,
        **cfg,
    }
    ws = [(f"{p}_{g}", s) for g in "zrh" for p, s in (("W", (d, h)), ("U", (h, h)), ("b", (h,)))]
    return K1Layer("GRU", name, config, [(f"{name}_{p}", _rng_array(rng, s)) for p, s in ws])


def dense(rng, name, d, units, activation="linear", **cfg) -> K1Layer:
    config = {
        "output_dim": units,
        "init": "glorot_uniform",
        "activation": activation,
        "W_regularizer": None,
        "b_regularizer": None,
        "activity_regularizer": None,
        "W_constraint": None,
        "b_constraint": None,
        "bias": True,
        "input_dim": d,
        **cfg,
    }
    return K1Layer(
        "Dense", name, config, [(f"{name}_W", _rng_array(rng, (d, units))), (f"{name}_b", _rng_array(rng, (units,)))]
    )


def time_distributed_dense(rng, name, d, units, activation="linear") -> K1Layer:
    layer = dense(rng, name, d, units, activation, input_length=None)
    layer.cls = "TimeDistributedDense"
    return layer


def embedding(rng, name, vocab, dim, *, mask_zero=False, input_length=None) -> K1Layer:
    config = {
        "input_dim": vocab,
        "output_dim": dim,
        "init": "uniform",
        "input_length": input_length,
        "mask_zero": mask_zero,
        "activity_regularizer": None,
        "W_regularizer": None,
        "W_constraint": None,
        "dropout": 0.0,
    }
    return K1Layer("Embedding", name, config, [(f"{name}_W", _rng_array(rng, (vocab, dim)))])


def conv1d(rng, name, d, filters, length, *, border_mode="valid", subsample=1, atrous_rate=None, activation="linear"):
    config = {
        "nb_filter": filters,
        "filter_length": length,
        "init": "glorot_uniform",
        "activation": activation,
        "border_mode": border_mode,
        "subsample_length": subsample,
        "W_regularizer": None,
        "b_regularizer": None,
        "activity_regularizer": None,
        "W_constraint": None,
        "b_constraint": None,
        "bias": True,
        "input_dim": None,
        "input_length": None,
    }
    cls = "Convolution1D"
    if atrous_rate is not None:
        config["atrous_rate"] = atrous_rate
        cls = "AtrousConvolution1D"
    return K1Layer(
        cls,
        name,
        config,
        [(f"{name}_W", _rng_array(rng, (length, 1, d, filters))), (f"{name}_b", _rng_array(rng, (filters,)))],
    )


def conv2d(
    rng, name, c, filters, rows, cols, *, dim_ordering="tf", border_mode="valid", subsample=(1, 1), activation="linear"
) -> K1Layer:
    """Keras 1.2 ``Convolution2D``: W is (F, C, rows, cols) with dim_ordering 'th', (rows, cols, C, F) with 'tf'."""
    config = {
        "nb_filter": filters,
        "nb_row": rows,
        "nb_col": cols,
        "init": "glorot_uniform",
        "activation": activation,
        "border_mode": border_mode,
        "subsample": list(subsample),
        "dim_ordering": dim_ordering,
        "W_regularizer": None,
        "b_regularizer": None,
        "activity_regularizer": None,
        "W_constraint": None,
        "b_constraint": None,
        "bias": True,
    }
    shape = (filters, c, rows, cols) if dim_ordering == "th" else (rows, cols, c, filters)
    return K1Layer(
        "Convolution2D",
        name,
        config,
        [(f"{name}_W", _rng_array(rng, shape)), (f"{name}_b", _rng_array(rng, (filters,)))],
    )


def batchnorm(rng, name, d, *, epsilon=1e-3) -> K1Layer:
    config = {
        "epsilon": epsilon,
        "mode": 0,
        "axis": -1,
        "momentum": 0.99,
        "gamma_regularizer": None,
        "beta_regularizer": None,
    }
    ws = [
        (f"{name}_gamma", _rng_array(rng, (d,))),
        (f"{name}_beta", _rng_array(rng, (d,))),
        (f"{name}_running_mean", _rng_array(rng, (d,))),
        (f"{name}_running_std", np.abs(_rng_array(rng, (d,))) + 0.1),
    ]
    return K1Layer("BatchNormalization", name, config, ws)


def prelu(rng, name, shape) -> K1Layer:
    return K1Layer("PReLU", name, {"init": "zero", "shared_axes": [None]}, [(f"{name}_alphas", _rng_array(rng, shape))])


def plain(cls: str, name: str, **config) -> K1Layer:
    return K1Layer(cls, name, config)


def merge(name: str, mode: str, *, concat_axis=-1, dot_axes=-1, layers=None) -> K1Layer:
    config = {
        "mode": mode,
        "mode_type": "raw",
        "concat_axis": concat_axis,
        "dot_axes": dot_axes,
        "output_shape": None,
        "output_shape_type": "raw",
        "output_mask": None,
        "output_mask_type": "raw",
        "arguments": {},
    }
    if layers is not None:
        config["layers"] = layers
    return K1Layer("Merge", name, config)


def input_layer(name: str, shape: tuple, dtype: str = "float32") -> K1Layer:
    layer = K1Layer("InputLayer", name, {"batch_input_shape": [None, *shape], "input_dtype": dtype, "sparse": False})
    layer.config.pop("trainable")
    return layer


def sequential_config(layers: list[K1Layer], input_shape: tuple, dtype: str = "float32") -> list[dict[str, Any]]:
    out = [lyr.entry() for lyr in layers]
    out[0]["config"] = {**out[0]["config"], "batch_input_shape": [None, *input_shape], "input_dtype": dtype}
    return out


def model_config(
    layers: list[tuple[K1Layer, list[tuple[str, int, int]]]], inputs: list[str], outputs: list[tuple[str, int, int]]
) -> dict[str, Any]:
    return {
        "name": "model_1",
        "layers": [
            {
                "name": lyr.name,
                "class_name": lyr.cls,
                "config": lyr.config,
                "inbound_nodes": [[list(t) for t in ins]] if ins else [],
            }
            for lyr, ins in layers
        ],
        "input_layers": [[n, 0, 0] for n in inputs],
        "output_layers": [list(o) for o in outputs],
    }


def _weights_group(g: Any, layers: list[K1Layer], theano: bool) -> None:
    g.attrs["layer_names"] = [lyr.name.encode("utf8") for lyr in layers]
    for lyr in layers:
        lg = g.create_group(lyr.name)
        names = [n if theano else f"{n}:0" for n, _ in lyr.weights]
        lg.attrs["weight_names"] = [n.encode("utf8") for n in names]
        for n, (_, v) in zip(names, lyr.weights):
            lg.create_dataset(n, data=v)


def write_model(
    path: Path, model_class: str, config: Any, layers: list[K1Layer], *, theano: bool = False, version: str = "1.2.2"
) -> Path:
    """A full-model ``.h5``; ``layers``: the flattened layers, in the order Keras saved them."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = version.encode("utf8")
        f.attrs["model_config"] = json.dumps({"class_name": model_class, "config": config}).encode("utf8")
        _weights_group(f.create_group("model_weights"), layers, theano)
    return path


def write_json_and_weights(
    json_path: Path, weights_path: Path, model_class: str, config: Any, layers: list[K1Layer], *, theano=False
) -> tuple[Path, Path]:
    json_path.write_text(json.dumps({"class_name": model_class, "config": config, "keras_version": "1.2.2"}))
    with h5py.File(weights_path, "w") as f:
        _weights_group(f, layers, theano)
    return json_path, weights_path
