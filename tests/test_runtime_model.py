"""The runtime model's own rules, on hand-built bundles (no Keras unless marked): the
initial-state rule of stateful nodes (format 1.2, F2), binding declared shapes and real
allocation bounds (F5, issue 12 item 9), the input parser predict and step share (items 16,
21), states saved and restored, and models built from arrays in memory."""

from __future__ import annotations

import numpy as np
import pytest

from rnnconvert.errors import FormatError, InputError, ResourceError
from rnnconvert.runtime import Model
from rnnconvert.runtime.ops.simple_rnn import simple_rnn

B, T, D, H = 2, 5, 3, 4


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = _rng(seed)
    return {
        "w/kernel": rng.normal(0, 0.5, (D, H)).astype(np.float32),
        "w/recurrent_kernel": rng.normal(0, 0.5, (H, H)).astype(np.float32),
        "w/bias": rng.normal(0, 0.5, (H,)).astype(np.float32),
    }


def _rnn_doc(*, rule: str | None = None, stateful: bool = True, batch: int | None = B) -> dict:
    """x (batch, T, D) and h0 (batch, H) -> SimpleRNN(H, stateful) started from h0."""
    config = {
        "units": H,
        "activation": {"type": "tanh"},
        "use_bias": True,
        "return_sequences": False,
        "go_backwards": False,
        "stateful": stateful,
        "zero_output_for_mask": False,
    }
    if rule is not None:
        config["initial_state_rule"] = rule
    return {
        "format": "rnnconvert",
        "format_version": "1.2.0",
        "inputs": [
            {"name": "x", "shape": [batch, None, D], "dtype": "float32"},
            {"name": "h0", "shape": [batch, H], "dtype": "float32"},
        ],
        "nodes": [
            {
                "name": "rnn",
                "op": "SimpleRNN",
                "inputs": [["x", 0]],
                "initial_state": [["h0", 0]],
                "config": config,
                "weights": {"kernel": "w/kernel", "recurrent_kernel": "w/recurrent_kernel", "bias": "w/bias"},
                "outputs": [{"shape": [batch, H]}, {"shape": [batch, H]}],
            }
        ],
        "outputs": [{"name": "y", "from": ["rnn", 0], "shape": [batch, H], "dtype": "float32"}],
    }


def _reference(x: np.ndarray, h: np.ndarray, w: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    y, h1 = simple_rnn(
        x,
        kernel=w["w/kernel"],
        recurrent_kernel=w["w/recurrent_kernel"],
        bias=w["w/bias"],
        units=H,
        activation={"type": "tanh"},
        initial_state=[h],
    )
    return y, h1


def _calls() -> tuple[list[np.ndarray], np.ndarray]:
    rng = _rng(1)
    xs = [rng.normal(0, 1, (B, T, D)).astype(np.float32) for _ in range(3)]
    return xs, rng.normal(0, 1, (B, H)).astype(np.float32)


@pytest.mark.parametrize("rule", [None, "every_call"])
def test_every_call_restarts_from_the_given_state(rule):
    w = _weights()
    model = Model.from_arrays(_rnn_doc(rule=rule), w)
    xs, h0 = _calls()
    for x in xs:  # Keras 3: each call starts from the given h0, whatever the carried state
        np.testing.assert_allclose(model.predict([x, h0]), _reference(x, h0, w)[0], rtol=1e-5, atol=1e-6)


def test_while_states_zero_continues_from_the_carried_state():
    w = _weights()
    model = Model.from_arrays(_rnn_doc(rule="while_states_zero"), w)
    xs, h0 = _calls()
    h = h0  # tf_keras: the given h0 on the first call, the carried state after
    for x in xs:
        y, h = _reference(x, h, w)
        np.testing.assert_allclose(model.predict([x, h0]), y, rtol=1e-5, atol=1e-6)
    model.reset_states()  # all zeros again: the given state is used again
    np.testing.assert_allclose(model.predict([xs[0], h0]), _reference(xs[0], h0, w)[0], rtol=1e-5, atol=1e-6)


def test_unknown_initial_state_rule_fails_at_load():
    with pytest.raises(FormatError, match="initial_state_rule"):
        Model.from_arrays(_rnn_doc(rule="sometimes"), _weights())


def test_states_saved_and_restored():
    w = _weights()
    model = Model.from_arrays(_rnn_doc(rule="while_states_zero"), w)
    xs, h0 = _calls()
    assert model.get_states() == {}
    model.predict([xs[0], h0])
    saved = model.get_states()
    after_two = model.predict([xs[1], h0])
    model.set_states(saved)
    np.testing.assert_array_equal(model.predict([xs[1], h0]), after_two)
    with pytest.raises(InputError):
        model.set_states({"rnn": [np.zeros((B, H + 1), np.float32)]})
    model.set_states({})
    assert model.get_states() == {}


def _dense_doc(declared: list, *, units: int = 4, n_in: int = 3) -> dict:
    return {
        "format": "rnnconvert",
        "format_version": "1.2.0",
        "inputs": [{"name": "x", "shape": [None, None, n_in], "dtype": "float32"}],
        "nodes": [
            {
                "name": "dense",
                "op": "Dense",
                "inputs": [["x", 0]],
                "config": {"units": units, "activation": {"type": "linear"}, "use_bias": False},
                "weights": {"kernel": "k"},
                "outputs": [{"shape": declared}],
            }
        ],
        "outputs": [{"name": "y", "from": ["dense", 0], "shape": declared, "dtype": "float32"}],
    }


def _dense_arrays(units: int = 4, n_in: int = 3) -> dict[str, np.ndarray]:
    return {"k": _rng(2).normal(0, 1, (n_in, units)).astype(np.float32)}


def test_declared_dimensions_are_binding():
    model = Model.from_arrays(_dense_doc([None, None, 3]), _dense_arrays())  # computes 4 units
    with pytest.raises(FormatError, match="'dense'.*declares"):
        model.predict(np.zeros((2, 5, 3), np.float32))
    rank = Model.from_arrays(_dense_doc([None, 4]), _dense_arrays())
    with pytest.raises(FormatError, match="'dense'"):
        rank.predict(np.zeros((2, 5, 3), np.float32))


def test_real_sizes_bound_a_call_whose_shapes_are_under_declared():
    """Free dimensions where the op makes them large: the declared estimate is small, the
    real output is not; the call stops at the node that overflows the bound."""
    units = 400
    doc = _dense_doc([None, None, None], units=units)
    model = Model.from_arrays(doc, _dense_arrays(units), max_elements=5_000, time_chunk_elements=0)
    x = np.zeros((2, 10, 3), np.float32)
    assert model.estimate(x).elements < 5_000  # what the declared shapes claim
    with pytest.raises(ResourceError, match="'dense'"):
        model.predict(x)
    model.max_elements = 100_000
    assert model.predict(x).shape == (2, 10, units)


def test_empty_sequence_is_refused():
    model = Model.from_arrays(_dense_doc([None, None, 4]), _dense_arrays())
    with pytest.raises(InputError, match="length 0"):
        model.predict(np.zeros((2, 0, 3), np.float32))


def test_predict_takes_batch_size_and_verbose():
    model = Model.from_arrays(_dense_doc([None, None, 4]), _dense_arrays())
    x = _rng(3).normal(0, 1, (7, 5, 3)).astype(np.float32)
    whole = model.predict(x)
    for bs in (1, 3, 7, 100):
        np.testing.assert_array_equal(model.predict(x, batch_size=bs, verbose=0), whole)
    np.testing.assert_array_equal(model.predict(x, verbose="auto"), whole)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InputError, match="batch_size"):
            model.predict(x, batch_size=bad)


def test_stateful_batch_size_carries_states_across_batches():
    """Keras's predict(x, batch_size=b) on a stateful model of batch b runs the batches in
    order, each continuing from the states the previous one left."""
    w = _weights()
    doc = _rnn_doc(rule="while_states_zero")
    model = Model.from_arrays(doc, w)
    xs, h0 = _calls()
    x = np.concatenate(xs[:2])
    got = model.predict([x, np.concatenate([h0, h0])], batch_size=B)
    y1, h1 = _reference(xs[0], h0, w)
    y2, _ = _reference(xs[1], h1, w)
    np.testing.assert_allclose(got, np.concatenate([y1, y2]), rtol=1e-5, atol=1e-6)


def test_ragged_list_gets_a_hint_to_pad():
    model = Model.from_arrays(_dense_doc([None, None, 4]), _dense_arrays())
    ragged = [[[0.0, 1.0, 2.0]] * 3, [[0.0, 1.0, 2.0]] * 2]
    with pytest.raises(InputError, match="pad_sequences"):
        model.predict(ragged)


def test_predict_and_step_read_inputs_alike():
    """A single-input model takes its array alone or in a one-element list, in predict and
    in step alike; a list of two arrays is two inputs in both."""
    doc = _rnn_doc(stateful=False, batch=None)
    doc["inputs"] = doc["inputs"][:1]
    del doc["nodes"][0]["initial_state"]
    model = Model.from_arrays(doc, _weights())
    x = _rng(4).normal(0, 1, (B, T, D)).astype(np.float32)
    np.testing.assert_array_equal(model.predict([x]), model.predict(x))
    state = model.initial_state(B)
    a, _ = model.step(x, state)
    b, _ = model.step([x], state)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, model.predict(x), rtol=1e-5, atol=1e-6)
    for call in (lambda v: model.predict(v), lambda v: model.step(v, state)):
        with pytest.raises(InputError, match="1 input"):
            call([x, x])


def test_from_arrays_reads_no_files_and_checks_like_load():
    doc = _dense_doc([None, None, 4])
    with pytest.raises(FormatError, match="lacks"):
        Model.from_arrays(doc, {})
    model = Model.from_arrays(doc, _dense_arrays())
    assert model.path is None
    assert [n.name for n in model.nodes] == ["dense"] and model.output_refs == [("dense", 0)]


@pytest.mark.keras
@pytest.mark.parametrize("era, rule", [("tf_keras", "while_states_zero"), ("keras3", "every_call")])
def test_initial_state_rules_match_their_keras(era, rule):
    """The hand-built bundle under each rule against the Keras that has it: a stateful
    SimpleRNN given ``initial_state``, called three times with the same weights."""
    if era == "tf_keras":
        import tf_keras as K
    else:
        import keras as K
    w = _weights()
    x_in = K.Input(batch_shape=(B, None, D))
    h_in = K.Input(batch_shape=(B, H))
    layer = K.layers.SimpleRNN(H, stateful=True)
    m = K.Model([x_in, h_in], layer(x_in, initial_state=h_in))
    layer.set_weights([w["w/kernel"], w["w/recurrent_kernel"], w["w/bias"]])
    model = Model.from_arrays(_rnn_doc(rule=rule), w)
    xs, h0 = _calls()
    for x in xs:
        expected = np.asarray(m([x, h0], training=False))
        np.testing.assert_allclose(model.predict([x, h0]), expected, rtol=1e-5, atol=1e-5)
