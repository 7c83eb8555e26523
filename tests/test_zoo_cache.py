"""The test suite's own cache of built Keras cases (keras_zoo): when it is on, what its key
covers, and that a cached case is what Keras builds and computes."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import keras_zoo
import numpy as np
import pytest
from keras_zoo import cache_dir, cache_key, keras_call

CASE_SOURCE = """
import numpy as np
from keras_zoo import case, randomize


@case("cache_probe")
def _(K, era, rng):
    m = K.Sequential([K.Input((4, 3)), K.layers.GRU({units}), K.layers.Dense(2)])
    randomize(m, rng)
    return m, [rng.normal(0, 1, (2, 4, 3)).astype(np.float32)]
"""


def _register(tmp_path: Path, monkeypatch, module: str, units: int):
    """Write a case module, import it into a private CASES registry; return its function."""
    monkeypatch.setattr(keras_zoo, "CASES", dict(keras_zoo.CASES))
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / f"{module}.py").write_text(CASE_SOURCE.replace("{units}", str(units)))
    sys.modules.pop(module, None)
    importlib.invalidate_caches()
    importlib.import_module(module)
    sys.modules.pop(module)
    return keras_zoo.CASES["cache_probe"]


def _entries(cache: Path) -> list[Path]:
    """The cached cases (the per-case lock files are dot files beside them)."""
    return [p for p in cache.iterdir() if not p.name.startswith(".")]


@pytest.mark.parametrize(
    "env,expected",
    [
        ({}, "repo"),
        ({"CI": "true"}, None),
        ({"CI": "true", "RNNCONVERT_TEST_CACHE": "1"}, "repo"),
        ({"RNNCONVERT_TEST_CACHE": "off"}, None),
        ({"RNNCONVERT_TEST_CACHE": "0"}, None),
        ({"CI": "true", "RNNCONVERT_TEST_CACHE": "/some/dir"}, "/some/dir"),
    ],
)
def test_cache_is_on_locally_off_in_ci_and_overridable(monkeypatch, env, expected):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("RNNCONVERT_TEST_CACHE", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    got = cache_dir()
    if expected == "repo":
        assert got == Path(keras_zoo.__file__).resolve().parent.parent / ".test-cache"
    else:
        assert got == (Path(expected) if expected else None)


def test_key_follows_the_case_source_and_the_era(tmp_path, monkeypatch):
    fn = _register(tmp_path, monkeypatch, "zoo_probe_key", units=3)
    key = cache_key("cache_probe", "keras3", fn)
    assert key == cache_key("cache_probe", "keras3", fn)  # stable
    assert key != cache_key("cache_probe", "tf_keras", fn)
    edited = _register(tmp_path, monkeypatch, "zoo_probe_key", units=5)
    assert cache_key("cache_probe", "keras3", edited) != key


@pytest.mark.keras
def test_second_zoo_loads_from_cache_and_an_edited_case_rebuilds(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    _register(tmp_path, monkeypatch, "zoo_probe_build", units=3)
    first = keras_zoo.Zoo(tmp_path / "a", cache)
    built = first.get("cache_probe", "keras3")
    assert first.keras_builds == 1 and len(_entries(cache)) == 1

    second = keras_zoo.Zoo(tmp_path / "b", cache)
    again = second.get("cache_probe", "keras3")
    assert second.keras_builds == 0
    assert set(again.files) == {"keras", "h5", "json"}
    assert all(p.is_file() for pair in again.files.values() for p in pair if p is not None)
    for a, b in zip(again.inputs + again.expected, built.inputs + built.expected):
        np.testing.assert_array_equal(a, b)
    # The model rebuilt for a cached case is the one that made the cached outputs.
    for a, b in zip(keras_call(again.model, again.inputs), again.expected):
        np.testing.assert_array_equal(a, b)

    _register(tmp_path, monkeypatch, "zoo_probe_build", units=5)
    third = keras_zoo.Zoo(tmp_path / "c", cache)
    edited = third.get("cache_probe", "keras3")
    assert third.keras_builds == 1 and len(_entries(cache)) == 1  # the stale entry is gone
    assert edited.model.layers[0].units == 5


@pytest.mark.keras
def test_a_damaged_entry_is_rebuilt(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    _register(tmp_path, monkeypatch, "zoo_probe_damage", units=2)
    keras_zoo.Zoo(tmp_path / "a", cache).get("cache_probe", "tf_keras")
    (entry,) = _entries(cache)
    (entry / "reference.npz").chmod(0o644)  # cached files are read-only
    (entry / "reference.npz").write_bytes(b"not a zip")
    zoo = keras_zoo.Zoo(tmp_path / "b", cache)
    built = zoo.get("cache_probe", "tf_keras")
    assert zoo.keras_builds == 1 and len(built.expected) == 1


def test_xdist_groups_keep_a_zoo_case_in_one_worker_and_other_tests_by_module():
    from conftest import xdist_group

    assert xdist_group("tests/test_parity.py::test_file_parity[crnn_text_line-tf_keras-h5]") == "zoo-crnn_text_line"
    assert xdist_group("tests/test_stream_rules.py::test_every[keras3-crnn_text_line]") == "zoo-crnn_text_line"
    assert xdist_group("tests/test_cli.py::test_convert_check_inspect_and_graph") == "tests/test_cli.py"
    assert xdist_group("tests/test_x.py::test_y[not_a_case-keras3]") == "tests/test_x.py"


@pytest.mark.keras
def test_tf_keras_models_built_without_gradient_graphs_are_the_same(tmp_path, monkeypatch):
    """keras_zoo.skip_gradient_graphs leaves out only what building a tf_keras LSTM/GRU adds
    for training: a masked model built both ways has the same config, weights, saved file and
    outputs -- and building it without them does skip them."""
    import tf_keras as K
    from helpers import save_every_format
    from keras_zoo import skip_gradient_graphs
    from tensorflow.python.eager.polymorphic_function.concrete_function import ConcreteFunction
    from tf_keras.src.layers.rnn import gru_lstm_utils

    skip_gradient_graphs()
    patched = gru_lstm_utils.function_register
    calls = []

    graphs: list = []  # gradient graphs added by the layers of the model being built
    add_gradients = ConcreteFunction.add_gradient_functions_to_graph

    def counted(self, *a, **k):
        graphs.append(self)
        return add_gradients(self, *a, **k)

    monkeypatch.setattr(ConcreteFunction, "add_gradient_functions_to_graph", counted)

    def build(register):
        graphs.clear()
        gru_lstm_utils.function_register = register
        try:
            K.backend.clear_session()  # the same automatic layer names both times
            K.utils.set_random_seed(7)
            inp = K.Input((5, 3))
            h = K.layers.Masking(0.0)(inp)
            h = K.layers.LSTM(4, return_sequences=True)(h)
            out = K.layers.GRU(2)(h)
            return K.Model(inp, out), len(graphs)
        finally:
            gru_lstm_utils.function_register = patched

    def counting(func, *a, **k):
        calls.append(func)
        return patched(func, *a, **k)

    x = np.random.default_rng(0).normal(size=(3, 5, 3)).astype(np.float32)
    x[1, 3:] = 0.0
    (full, n_full), (light, n_light) = build(patched.original), build(counting)
    models = [full, light]
    assert calls, "the patched registration was not used: tf_keras builds these layers another way now"
    assert n_full > 0 and n_light == 0, (n_full, n_light)
    w0, w1 = (m.get_weights() for m in models)
    assert all(np.array_equal(a, b) for a, b in zip(w0, w1))
    assert models[0].to_json() == models[1].to_json()
    np.testing.assert_array_equal(keras_call(models[0], [x])[0], keras_call(models[1], [x])[0])
    files = [save_every_format(m, "tf_keras", tmp_path / str(i))["json"][0].read_bytes() for i, m in enumerate(models)]
    assert files[0] == files[1]
