"""The converter's graph walk: linear whatever the layer order, dead nodes pruned,
inline TensorFlow operations named, malformed configs reported as the project's errors."""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pytest

from rnnconvert.converter import build_document, convert
from rnnconvert.converter.keras_era import era_of
from rnnconvert.converter.layers import LAYER_CONVERTERS
from rnnconvert.converter.readers import KerasSource, read_source
from rnnconvert.converter.readers.weights import WeightStore
from rnnconvert.converter.walker import build
from rnnconvert.errors import FormatError, RnnConvertError, UnsupportedError
from rnnconvert.runtime import load


def _chain_config(n: int, reverse: bool) -> dict:
    """A tf_keras functional config: Input -> n Activation layers in a chain, listed in
    file order or reversed (the order a hostile or hand-edited file may use)."""
    layers = [
        {
            "class_name": "InputLayer",
            "name": "x",
            "config": {"name": "x", "batch_input_shape": [None, 5, 3], "dtype": "float32"},
            "inbound_nodes": [],
        }
    ]
    prev = "x"
    for k in range(n):
        name = f"a{k}"
        layers.append(
            {
                "class_name": "Activation",
                "name": name,
                "config": {"name": name, "activation": "tanh"},
                "inbound_nodes": [[[prev, 0, 0, {}]]],
            }
        )
        prev = name
    if reverse:
        layers = layers[:1] + layers[1:][::-1]
    cfg = {"name": "chain", "layers": layers, "input_layers": [["x", 0, 0]], "output_layers": [[prev, 0, 0]]}
    return {"class_name": "Functional", "config": cfg}


def _source(config: dict) -> KerasSource:
    return KerasSource(config, "2.15.0", "tensorflow", "json+hdf5", WeightStore({}, "legacy"))


def _calls_during_build(config: dict) -> tuple[int, list]:
    """Python function calls made while converting ``config`` (an operation count, not a time)."""
    count = 0

    def prof(frame, event, arg):
        nonlocal count
        if event == "call":
            count += 1

    src = _source(config)
    sys.setprofile(prof)
    try:
        b, _ = build(src, era_of(src.keras_version, src.config), LAYER_CONVERTERS)
    finally:
        sys.setprofile(None)
    return count, b.nodes


def test_reversed_layer_order_walks_in_linear_work():
    small, nodes_small = _calls_during_build(_chain_config(1000, reverse=True))
    big, nodes_big = _calls_during_build(_chain_config(8000, reverse=True))
    assert len(nodes_big) == 8000 and len(nodes_small) == 1000
    # 8x the layers: linear work is ~8x the calls, the old pass-per-layer walk ~64x.
    assert big < 12 * small, (small, big)


def test_layer_order_in_the_file_does_not_change_the_bundle():
    _, forward = _calls_during_build(_chain_config(300, reverse=False))
    _, backward = _calls_during_build(_chain_config(300, reverse=True))
    assert forward == backward


def test_many_layers_sharing_one_name_base_are_named_in_linear_work():
    # Nested-model layers all called "a" get a_1, a_2, ...: no quadratic search for the next free name.
    from rnnconvert.converter.graph import GraphBuilder

    b = GraphBuilder()
    names = [b.unique("a") for _ in range(5000)]
    assert names[:3] == ["a", "a_1", "a_2"] and len(set(names)) == 5000
    b.unique("a_5000")
    assert b.unique("a") == "a_5001"


def test_dangling_and_cyclic_references_are_format_errors():
    cfg = _chain_config(3, reverse=False)
    cfg["config"]["layers"][1]["inbound_nodes"] = [[["a2", 0, 0, {}]]]  # a0 <- a2 <- a1 <- a0
    with pytest.raises(FormatError, match="dangling or cyclic"):
        build(_source(cfg), era_of("2.15.0", cfg), LAYER_CONVERTERS)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda c: c["config"]["layers"][1].update(inbound_nodes=[[]]), "no input"),
        (lambda c: c["config"].update(output_layers=5), "must be a list"),
        (lambda c: c["config"]["layers"][0]["config"].update(batch_input_shape=[None, "5", 3]), "not a dimension"),
        (lambda c: c["config"]["layers"][0]["config"].update(batch_input_shape=[None, 1e400, 3]), "not a dimension"),
        (lambda c: c["config"]["layers"][1].update(inbound_nodes=[[["x", "zero", 0, {}]]]), "non-negative integer"),
        (lambda c: c["config"]["layers"][1]["config"].update(activation=[1, 2]), "a1|a0"),
    ],
)
def test_malformed_configs_are_project_errors(mutate, match):
    cfg = _chain_config(2, reverse=False)
    mutate(cfg)
    with pytest.raises(RnnConvertError, match=match):
        build(_source(cfg), era_of("2.15.0", cfg), LAYER_CONVERTERS)


def test_deeply_nested_config_is_refused_without_recursion():
    cfg = _chain_config(2, reverse=False)
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    cfg["config"]["layers"][1]["config"]["extra"] = deep
    with pytest.raises(FormatError, match="nested more than"):
        build(_source(cfg), era_of("2.15.0", cfg), LAYER_CONVERTERS)


@pytest.mark.parametrize("units", ["many", float("nan"), float("inf"), 2.5, None, [4]])
def test_non_numeric_units_name_the_layer(units):
    cfg = _chain_config(1, reverse=False)
    cfg["config"]["layers"][1] = {
        "class_name": "Dense",
        "name": "d",
        "config": {"name": "d", "units": units},
        "inbound_nodes": [[["x", 0, 0, {}]]],
    }
    cfg["config"]["output_layers"] = [["d", 0, 0]]
    with pytest.raises(FormatError, match=r"d \(Dense\): units: expected an integer"):
        build(_source(cfg), era_of("2.15.0", cfg), LAYER_CONVERTERS)


def test_lone_surrogates_in_names_are_format_errors():
    cfg = _chain_config(2, reverse=False)
    text = json.dumps(cfg).replace('"a1"', '"a\\ud800\\u001b[31m"')
    with pytest.raises(FormatError, match="not valid Unicode"):
        build_document(_source(json.loads(text)))


@pytest.mark.parametrize("version", ["².15.0", "3\u00b3", "", "x.y"])
def test_odd_keras_versions_read_the_config_dialect(version):
    era = era_of(version, _chain_config(1, reverse=False))
    assert era.major in (1, 2, 3) and era.guessed


# -- with live Keras ------------------------------------------------------------------------


@pytest.mark.keras
def test_keras3_masked_model_has_no_dead_nodes_and_matches_keras(zoo, tmp_path):
    built = zoo.get("mask_zero_embedding_lstm", "keras3")
    path, _ = built.files["keras"]
    doc, _, _ = build_document(read_source(path))
    refs = {tuple(o["from"])[0] for o in doc["outputs"]}
    for node in doc["nodes"]:
        refs.update(r[0] for r in node["inputs"])
        if node.get("mask"):
            refs.add(node["mask"][0])
        refs.update(r[0] for r in node.get("initial_state") or [])
    dead = [n["name"] for n in doc["nodes"] if n["name"] not in refs]
    assert not dead, f"nodes no output needs: {dead}"
    assert not any(n["name"].endswith("/mask") for n in doc["nodes"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        convert(path, tmp_path / "b")
    ours = load(tmp_path / "b").predict(built.inputs)
    ours = ours if isinstance(ours, list) else [ours]
    for a, e in zip(ours, built.expected):
        np.testing.assert_allclose(a, e, atol=1e-5 * max(1.0, float(np.abs(e).max())), rtol=0)


@pytest.mark.keras
def test_tf_keras_inline_ops_are_named_with_other_unsupported_layers(tmp_path):
    import tensorflow as tf
    import tf_keras as K

    x = K.Input((6, 3))
    y = K.layers.LSTM(4, return_sequences=True)(x)
    y = tf.math.cumsum(y * 2.0, axis=1)  # TFOpLambda tf.math.cumsum: not in the allow-list (multiply is)
    y = tf.math.reduce_logsumexp(y, axis=1)  # TFOpLambda tf.math.reduce_logsumexp: neither
    y = K.layers.LocallyConnected1D(2, 1)(K.layers.Reshape((4, 1))(y))  # a layer we do not convert
    model = K.Model(x, y)
    path = tmp_path / "m.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)
    with pytest.raises(RnnConvertError) as info:
        build_document(read_source(path))
    text = str(info.value)
    assert "tf.math.cumsum" in text and "tf.math.reduce_logsumexp" in text and "tf.math.multiply" not in text
    assert "TFOpLambda" in text and "malformed" not in text
    assert isinstance(info.value, UnsupportedError)
    assert "LocallyConnected1D" in text
    assert len(info.value.problems) == 3


@pytest.mark.keras
def test_keras3_integer_mask_passed_explicitly_is_cast_like_keras(tmp_path):
    import keras

    x, m = keras.Input((5, 3)), keras.Input((5,), dtype="int32")
    model = keras.Model([x, m], keras.layers.LSTM(2, return_sequences=True)(x, mask=m))
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(3, 5, 3)).astype(np.float32)
    ms = np.array([[1, 1, 0, 0, 0], [2, 0, 7, 1, 0], [0, 0, 0, 0, 0]], dtype=np.int32)
    expected = np.asarray(model([xs, ms], training=False))
    model.save(tmp_path / "m.keras")
    doc, _, _ = build_document(read_source(tmp_path / "m.keras"))
    lstm = next(n for n in doc["nodes"] if n["op"] == "LSTM")
    cast = next(n for n in doc["nodes"] if n["name"] == lstm["mask"][0])
    assert cast["outputs"][0]["dtype"] == "bool"  # the bundle never carries an integer mask
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        convert(tmp_path / "m.keras", tmp_path / "b")
    ours = load(tmp_path / "b").predict([xs, ms])
    np.testing.assert_allclose(ours, expected, atol=1e-5, rtol=0)
