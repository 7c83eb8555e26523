"""Issue 12.1: the stream plan and time chunking come from each op's declared time rule.

Every zoo model (every op in every configuration the suite builds) runs through chunked
``predict`` (one timestep per chunk) and through ``step()`` one timestep at a time, against
live Keras's whole call. A softmax-like activation whose axis covers time (attention pooling:
``LSTM -> Dense(1) -> Softmax(axis=1)``; ``Softmax(axis=(1, 2))``; softmax over a (B, T)
input) needs the whole sequence: such a model is never chunked and refuses to stream.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_parity
from keras_zoo import CASES, ERAS, keras_call, keras_module, randomize

from rnnconvert.converter import convert
from rnnconvert.errors import InputError
from rnnconvert.runtime import load
from rnnconvert.runtime.streaming import TIMED

pytestmark = pytest.mark.keras


def _stepped(model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The model fed one timestep at a time through step(): timed outputs stacked, the
    others as after the last step."""
    plan = model.stream_plan()
    timed = [info.name in plan.timed_inputs for info in model.inputs]
    length = next(a.shape[1] for a, t in zip(inputs, timed) if t)
    state = model.initial_state(inputs[0].shape[0])
    per_step: list[list[np.ndarray]] = [[] for _ in plan.output_kinds]
    last: list[np.ndarray] = []
    for t in range(length):
        x = [a[:, t] if is_t else a for a, is_t in zip(inputs, timed)]
        y, state = model.step(x if len(x) > 1 else x[0], state)
        last = y if isinstance(y, list) else [y]
        for k, o in enumerate(last):
            per_step[k].append(o)
    return [np.stack(p, axis=1) if kind == TIMED else o for p, kind, o in zip(per_step, plan.output_kinds, last)]


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_zoo_model_chunked_and_stepped_matches_keras(zoo, zoo_bundle, name, era):
    built = zoo.get(name, era)
    bundle = zoo_bundle(name, era, "h5").out_dir  # shared with test_parity (read only)
    timed_lengths = {a.shape[1] for a in built.inputs if a.ndim >= 2}
    chunked = load(bundle, time_chunk_elements=1)  # every chunk one timestep, where the model allows
    got = chunked.predict(built.inputs if len(built.inputs) > 1 else built.inputs[0])
    assert_parity(got, built.expected if len(built.expected) > 1 else built.expected[0], f"{name}/{era} chunked")
    model = load(bundle)
    plan = model.stream_plan()
    if plan.error:
        with pytest.raises(InputError, match="cannot be streamed"):
            model.initial_state(1)
        return
    if len({a.shape[1] for a, i in zip(built.inputs, model.inputs) if i.name in plan.timed_inputs}) != 1:
        pytest.skip(f"timed inputs of different lengths {sorted(timed_lengths)}")
    ours = _stepped(model, built.inputs)
    assert_parity(ours, built.expected, f"{name}/{era} stepped")


def _attention_pooling(K, rng):
    x = K.Input((None, 3))
    h = K.layers.LSTM(5, return_sequences=True)(x)
    s = K.layers.Dense(1)(h)
    w = K.layers.Softmax(axis=1)(s)  # weights over time
    return K.Model(x, w), [rng.normal(0, 1, (4, 9, 3)).astype(np.float32)]


def _softmax_time_feature(K, rng):
    x = K.Input((None, 3))
    h = K.layers.LSTM(4, return_sequences=True)(x)
    w = K.layers.Softmax(axis=(1, 2))(h)
    return K.Model(x, w), [rng.normal(0, 1, (3, 7, 3)).astype(np.float32)]


def _softmax_over_rank2(K, rng):
    x = K.Input((None,))
    w = K.layers.Activation("softmax")(x)  # the last axis of (B, T) is time
    return K.Model(x, w), [rng.normal(0, 1, (3, 8)).astype(np.float32)]


def _dense_softmax_after_flat_lstm(K, rng):
    x = K.Input((None, 3))
    h = K.layers.LSTM(6, return_sequences=True)(x)
    y = K.layers.Dense(4, activation="softmax")(h)  # over features: per-step, streams
    return K.Model(x, y), [rng.normal(0, 1, (2, 6, 3)).astype(np.float32)]


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize(
    "make, streams",
    [(_attention_pooling, False), (_softmax_time_feature, False), (_softmax_over_rank2, False),
     (_dense_softmax_after_flat_lstm, True)],
)  # fmt: skip
def test_softmax_over_time_is_never_chunked_or_streamed(tmp_path, era, make, streams):
    K = keras_module(era)
    rng = np.random.default_rng(12)
    K.utils.set_random_seed(12)
    model, inputs = make(K, rng)
    randomize(model, rng)
    expected = keras_call(model, inputs)[0]  # the eager oracle: predict is not the subject
    model.save(tmp_path / "m.h5")
    convert(tmp_path / "m.h5", tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(inputs[0]), expected, "whole call")
    assert_parity(load(tmp_path / "b", time_chunk_elements=1).predict(inputs[0]), expected, "time_chunk_elements=1")
    ours = load(tmp_path / "b")
    if streams:
        assert_parity(_stepped(ours, inputs)[0], expected, "stepped")
    else:
        assert "whole sequence" in ours.stream_plan().error
        with pytest.raises(InputError, match="cannot be streamed: node .* needs the whole sequence"):
            ours.step(inputs[0][:, 0], ours.initial_state(inputs[0].shape[0]))
