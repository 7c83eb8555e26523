"""Malformed layer configs reaching the weight readers are format errors, not tracebacks.

A model file's JSON may hold any value where an object, array or string belongs; the readers
used ``lc.get("config")`` and raised AttributeError/TypeError (graph's config fuzzing, 20:50)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from rnnconvert.converter import convert
from rnnconvert.errors import FormatError

DENSE = {"class_name": "Dense", "config": {"name": "d", "units": 2}}
BAD_LAYERS = {
    "config_is_a_list": [{"class_name": "Dense", "config": [1, 2]}],
    "config_is_a_number": [{"class_name": "Dense", "config": 7}],
    "layer_is_a_string": ["Dense"],
    "name_is_a_list": [{"class_name": "Dense", "config": {"name": ["d"]}}],
    "class_name_is_a_number": [{"class_name": 3, "config": {"name": "d"}}],
    "nested_model_layers_not_a_list": [DENSE, {"class_name": "Sequential", "config": {"name": "s", "layers": 5}}],
    "stacked_cells_not_a_list": [
        {
            "class_name": "RNN",
            "config": {"name": "r", "cell": {"class_name": "StackedRNNCells", "config": {"cells": 1}}},
        }
    ],
}


@pytest.mark.parametrize("problem", sorted(BAD_LAYERS))
def test_malformed_layer_config_is_a_format_error(tmp_path, problem):
    arch = {"class_name": "Sequential", "config": {"name": "m", "layers": BAD_LAYERS[problem]}}
    (tmp_path / "m.json").write_text(json.dumps(arch))
    with h5py.File(tmp_path / "m.weights.h5", "w") as f:  # the Keras 3 weights layout
        f.create_group("layers/d/vars").attrs["name"] = "d"
        f.create_group("layers/s/layers")
        f.create_group("layers/r/cell/cells")
        f.create_group("vars")
    with pytest.raises(FormatError):
        convert(tmp_path / "m.json", tmp_path / "out", weights=tmp_path / "m.weights.h5")
    assert not (tmp_path / "out").exists()


def test_top_level_config_not_an_object_is_a_format_error(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps({"class_name": "Sequential", "config": "layers"}))
    with h5py.File(tmp_path / "m.weights.h5", "w") as f:
        f.create_group("layers")
    with pytest.raises(FormatError):
        convert(tmp_path / "m.json", tmp_path / "out", weights=tmp_path / "m.weights.h5")


def test_config_op_does_not_take_the_group_a_named_layer_owns(tmp_path):
    """Keras 3 lists mask ops (a Concatenate of masks, ``concatenate_1``) in the config without a
    weights group; the by-class fallback used to hand it the group the layer named
    ``concatenate`` owns, which was then read twice ("linked from more than one place")."""
    from rnnconvert.converter.readers.weights import read_keras3_weights

    with h5py.File(tmp_path / "w.h5", "w") as f:
        f.create_group("layers/concatenate/vars").attrs["name"] = "concatenate"
        f.create_group("layers/dense/vars").attrs["name"] = "dense"
        f["layers/dense/vars"].create_dataset("0", data=np.ones((2, 3), np.float32))
    layers = [
        {"class_name": "Concatenate", "config": {"name": "concatenate_1"}},
        {"class_name": "Concatenate", "config": {"name": "concatenate"}},
        {"class_name": "Dense", "config": {"name": "dense"}},
    ]
    with h5py.File(tmp_path / "w.h5", "r") as f:
        store = read_keras3_weights(f, layers, "w.h5", sequential=False)
        assert [np.asarray(a).shape for a in store.get("dense")] == [(2, 3)]
