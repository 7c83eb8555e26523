"""Writing ``.h5`` files in the exact layout standalone Keras 2.0-2.2 wrote, with h5py.

Standalone Keras 2.x needs TensorFlow 1.x or Theano and cannot be installed next to
TensorFlow 2.21, so these tests write its files themselves, following Keras's own
source (tags 2.0.8, 2.1.6 and 2.2.4 of github.com/keras-team/keras):

* ``engine/saving.py`` (2.2.4; ``engine/topology.py`` / ``models.py`` before): the root
  attributes ``keras_version``, ``backend`` and ``model_config`` (UTF-8 bytes; the config
  is ``json.dumps({"class_name": model class, "config": model.get_config()})``), a group
  ``model_weights`` with attributes ``layer_names``, ``backend``, ``keras_version``, and one
  group per entry of ``model.layers`` with attribute ``weight_names`` (the variables'
  TensorFlow names, e.g. ``lstm_1/kernel:0``) and a dataset under each of those names
  (a ``/`` in a name nests groups). Attribute lists are numpy byte-string arrays, an
  empty list a float64 array of shape (0,); lists over 64 KiB are split into
  ``layer_names0``, ``layer_names1``, … (``save_attributes_to_hdf5_group``).
* ``Sequential.get_config``: a list of ``{"class_name", "config"}`` in 2.0-2.1, a dict
  ``{"name", "layers"}`` from 2.2. A Sequential's ``model.layers`` leaves out its
  InputLayer; the first layer's config carries ``batch_input_shape``. A functional
  ``Model`` lists its InputLayers as layers (without weights).
* each layer's ``get_config`` (``layers/*.py``): ``name``, ``trainable``, ``dtype`` (and
  ``batch_input_shape`` where given) plus the class's own keys, listed in ``_KEYS``;
  initializers, regularizers and constraints as ``{"class_name", "config"}``.

The configs are produced from a tf_keras model of the same architecture (layers named
the Keras 2 way, ``lstm_1``), reduced to exactly those keys, so the tf_keras model with
the same weights is the reference the converted file is compared with.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import h5py
import numpy as np

_BASE = ["name", "trainable", "batch_input_shape", "dtype"]
_RNN = ["return_sequences", "return_state", "go_backwards", "stateful", "unroll"]
_REG = ["kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"]
_REC_REG = ["recurrent_regularizer", "recurrent_constraint"]
_INIT = ["kernel_initializer", "recurrent_initializer", "bias_initializer"]
# The keys each class's get_config writes in Keras 2.2.4 (besides _BASE).
_KEYS: dict[str, list[str]] = {
    "InputLayer": ["batch_input_shape", "dtype", "sparse", "name"],
    "Dense": ["units", "activation", "use_bias", "kernel_initializer", "bias_initializer", *_REG],
    "LSTM": [
        *_RNN,
        "units",
        "activation",
        "recurrent_activation",
        "use_bias",
        *_INIT,
        "unit_forget_bias",
        *_REG,
        *_REC_REG,
        "dropout",
        "recurrent_dropout",
        "implementation",
    ],
    "GRU": [
        *_RNN,
        "units",
        "activation",
        "recurrent_activation",
        "use_bias",
        *_INIT,
        *_REG,
        *_REC_REG,
        "dropout",
        "recurrent_dropout",
        "implementation",
        "reset_after",
    ],
    "SimpleRNN": [*_RNN, "units", "activation", "use_bias", *_INIT, *_REG, *_REC_REG, "dropout", "recurrent_dropout"],
    "CuDNNLSTM": [*_RNN[:4], "units", *_INIT, "unit_forget_bias", *_REG, *_REC_REG],
    "CuDNNGRU": [*_RNN[:4], "units", *_INIT, *_REG, *_REC_REG],
    "Embedding": [
        "input_dim",
        "output_dim",
        "embeddings_initializer",
        "embeddings_regularizer",
        "activity_regularizer",
        "embeddings_constraint",
        "mask_zero",
        "input_length",
    ],
    "Conv1D": [
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "data_format",
        "dilation_rate",
        "activation",
        "use_bias",
        "kernel_initializer",
        "bias_initializer",
        *_REG,
    ],
    "MaxPooling1D": ["strides", "pool_size", "padding", "data_format"],
    "AveragePooling1D": ["strides", "pool_size", "padding", "data_format"],
    "GlobalAveragePooling1D": ["data_format"],
    "GlobalMaxPooling1D": ["data_format"],
    "BatchNormalization": [
        "axis",
        "momentum",
        "epsilon",
        "center",
        "scale",
        "beta_initializer",
        "gamma_initializer",
        "moving_mean_initializer",
        "moving_variance_initializer",
        "beta_regularizer",
        "gamma_regularizer",
        "beta_constraint",
        "gamma_constraint",
    ],
    "Concatenate": ["axis"],
    "Add": [],
    "Multiply": [],
    "Dropout": ["rate", "noise_shape", "seed"],
    "Activation": ["activation"],
    "Masking": ["mask_value"],
    "RepeatVector": ["n"],
    "Flatten": ["data_format"],
    "Bidirectional": ["layer", "merge_mode"],
    "TimeDistributed": ["layer"],
}
# Keras 2.0.x - 2.1.2 predate GRU's reset_after.
_ADDED_LATER = {"GRU": {"reset_after": (2, 1, 3)}}


def _version(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", v)[:3])


def _serialized(value: Any) -> Any:
    """tf_keras's ``{"module", "class_name", "config", "registered_name"}`` -> Keras 2's
    ``{"class_name", "config"}``."""
    if isinstance(value, dict) and "class_name" in value and "config" in value:
        return {"class_name": value["class_name"], "config": value["config"]}
    return value


def layer_config(cls: str, cfg: dict[str, Any], version: str, *, first: bool = False) -> Any:
    if cls in ("Sequential", "Functional", "Model"):  # a nested model: its own get_config
        return model_config_from(cls, cfg, version)
    if cls not in _KEYS:
        raise KeyError(f"no Keras 2.2.4 key list for {cls}")
    keep = _KEYS[cls] if cls == "InputLayer" else [*_BASE, *_KEYS[cls]]
    later = _ADDED_LATER.get(cls, {})
    out = {}
    for k in keep:
        if k not in cfg or (k == "batch_input_shape" and not first and cls != "InputLayer"):
            continue
        if k in later and _version(version) < later[k]:
            continue
        v = cfg[k]
        if k == "layer":  # wrappers
            v = {"class_name": v["class_name"], "config": layer_config(v["class_name"], v["config"], version)}
        out[k] = _serialized(v)
    return out


def model_config(model, version: str) -> dict[str, Any]:
    """The ``model_config`` Keras ``version`` would write for this tf_keras model."""
    full = json.loads(model.to_json())
    return {
        "class_name": "Sequential" if full["class_name"] == "Sequential" else "Model",
        "config": model_config_from(full["class_name"], full["config"], version),
    }


def model_config_from(class_name: str, cfg: dict[str, Any], version: str) -> Any:
    """A Sequential's or Model's ``get_config()`` in Keras ``version``'s dialect, from tf_keras's."""
    if class_name == "Sequential":
        layers = [lc for lc in cfg["layers"] if lc["class_name"] != "InputLayer"]
        first_shape = cfg["layers"][0]["config"]["batch_input_shape"]
        out = []
        for k, lc in enumerate(layers):
            c = dict(lc["config"])
            if k == 0:
                c["batch_input_shape"] = first_shape
            out.append(
                {"class_name": lc["class_name"], "config": layer_config(lc["class_name"], c, version, first=k == 0)}
            )
        return out if _version(version) < (2, 2) else {"name": cfg["name"], "layers": out}
    layers = []
    for lc in cfg["layers"]:
        cls = "Model" if lc["class_name"] == "Functional" else lc["class_name"]
        layers.append(
            {
                "name": lc["name"],
                "class_name": cls,
                "config": layer_config(lc["class_name"], lc["config"], version),
                "inbound_nodes": lc["inbound_nodes"],
            }
        )
    return {
        "name": cfg["name"],
        "layers": layers,
        "input_layers": cfg["input_layers"],
        "output_layers": cfg["output_layers"],
    }


def weight_names(layer) -> list[str]:
    """Keras 2.x (TensorFlow backend) variable names: tf_keras's minus its cell scope
    (``lstm_1/lstm_cell/kernel:0`` was ``lstm_1/kernel:0``)."""
    return [re.sub(r"/(lstm|gru|simple_rnn)_cell(_\d+)?/", "/", w.name) for w in layer.weights]


def _names_attr(group: Any, name: str, values: list[str], chunks: int = 1) -> None:
    data = np.asarray([v.encode("utf8") for v in values]) if values else np.asarray([])
    if chunks == 1:
        group.attrs[name] = data
        return
    for k, part in enumerate(np.array_split(data, chunks)):
        group.attrs[f"{name}{k}"] = part


def write_h5(path: Path, model, version: str, *, backend: str = "tensorflow", chunk_names: int = 1) -> Path:
    """Write ``model`` (tf_keras) as Keras ``version`` saved it. ``chunk_names`` > 1 splits
    the name lists the way Keras does for lists over 64 KiB."""
    cfg = model_config(model, version)
    layers = [
        lyr for lyr in model.layers if not (cfg["class_name"] == "Sequential" and type(lyr).__name__ == "InputLayer")
    ]
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = version.encode("utf8")
        f.attrs["backend"] = backend.encode("utf8")
        f.attrs["model_config"] = json.dumps(cfg).encode("utf8")
        g = f.create_group("model_weights")
        _names_attr(g, "layer_names", [lyr.name for lyr in layers], chunk_names)
        g.attrs["backend"] = backend.encode("utf8")
        g.attrs["keras_version"] = version.encode("utf8")
        for lyr in layers:
            lg = g.create_group(lyr.name)
            names = weight_names(lyr)
            if backend == "theano":  # Theano shared variables carry no ':0'
                names = [n.split(":")[0] for n in names]
            _names_attr(lg, "weight_names", names, chunk_names if len(names) >= chunk_names else 1)
            for n, v in zip(names, lyr.get_weights()):
                lg.create_dataset(n, data=v)
    return path
