"""Long sequences: a model that streams runs a call too big for ``time_chunk_elements``
(or ``max_elements``) through time a chunk at a time, carrying its states, and gives what
Keras gives on the whole sequence. Every zoo case is run with chunking forced down to one
or a few timesteps and compared with live Keras; the cases that cannot stream (backward
RNNs, pooling over time, ...) must still run whole and match."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from conftest import assert_parity
from keras_zoo import CASES, ERAS, FORMATS, eager

from rnnconvert.converter import convert
from rnnconvert.errors import ResourceError
from rnnconvert.runtime import load

PARAMS = [(c, e) for c in CASES for e in ERAS]


@pytest.mark.keras
@pytest.mark.parametrize("case,era", PARAMS, ids=[f"{c}-{e}" for c, e in PARAMS])
def test_chunked_through_time_matches_keras(zoo, zoo_bundle, case, era):
    built = zoo.get(case, era)
    bundle = zoo_bundle(case, era, FORMATS[era][0]).out_dir  # shared with test_parity (read only)
    x = built.inputs if len(built.inputs) > 1 else built.inputs[0]
    expected = built.expected if len(built.expected) > 1 else built.expected[0]
    whole = load(bundle, time_chunk_elements=0)
    total = whole.estimate(x).elements
    plan = whole.stream_plan()
    for divisor in (10**9, 3):  # chunks of one timestep, then of about a third of the sequence
        model = load(bundle, time_chunk_elements=max(1, total // divisor))
        chunk = model.estimate(x).time_chunk
        arrays = x if isinstance(x, list) else [x]
        lengths = {np.shape(a)[1] for i, a in zip(model.inputs, arrays) if i.name in plan.timed_inputs}
        streams = plan.error is None and not model.stateful and len(lengths) == 1 and max(lengths) > 1
        if streams and divisor > 1000:
            assert chunk == 1, (case, plan)  # the chunked path is what this test runs
        if not streams:
            assert chunk == 0, (case, plan.error)
        assert_parity(model.predict(x), expected, f"{case}/{era} chunk={chunk}")


@pytest.fixture(scope="module")
def long_case(tmp_path_factory):
    """Keras 3: LSTM(16, return_sequences) -> GRU(8) -> Dense(3, softmax), a model that
    streams, converted from its .keras file; with an input of 400 timesteps and Keras's output."""
    from keras_zoo import keras_module, randomize

    K = keras_module("keras3")
    K.utils.set_random_seed(5)
    m = K.Sequential(
        [
            K.Input((None, 4)),
            K.layers.LSTM(16, return_sequences=True),
            K.layers.GRU(8),
            K.layers.Dense(3, activation="softmax"),
        ]
    )
    randomize(m, np.random.default_rng(5))
    d = tmp_path_factory.mktemp("long")
    m.save(d / "m.keras")
    convert(d / "m.keras", d / "b")
    x = np.random.default_rng(1).normal(0, 1, (3, 400, 4)).astype(np.float32)
    return d / "b", x, eager(m, x)


@pytest.mark.keras
def test_max_elements_is_met_by_chunking_a_streamable_call(long_case):
    bundle, x, expected = long_case
    need = load(bundle).estimate(x).elements
    small = load(bundle, max_elements=need // 8, time_chunk_elements=0)
    with pytest.raises(ResourceError, match="max_elements"):
        small.predict(x)  # chunking off: the whole call does not fit
    bounded = load(bundle, max_elements=need // 8)
    assert 0 < bounded.estimate(x).time_chunk < x.shape[1]
    assert_parity(bounded.predict(x), expected, "chunked to fit max_elements")
    tiny = load(bundle, max_elements=10)
    with pytest.raises(ResourceError, match="max_elements"):
        tiny.predict(x)  # not even one timestep fits


@pytest.mark.keras
def test_chunked_memory_does_not_grow_with_the_sequence(long_case):
    bundle, _, _ = long_case
    rng = np.random.default_rng(2)
    model = load(bundle, time_chunk_elements=50_000)
    peaks = {}
    for T in (2_000, 20_000):
        x = rng.normal(0, 1, (4, T, 4)).astype(np.float32)
        model.predict(x[:, :5])
        tracemalloc.start()
        model.predict(x)
        peaks[T] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # One chunk: ~50,000 values (200 kB) of intermediates; the whole 20,000-step call would
    # hold 4 x 20,000 x 16 values (5 MB) of LSTM output alone.
    assert peaks[20_000] < peaks[2_000] + 256 * 1024, peaks
    assert peaks[20_000] < 2 * 1024 * 1024, peaks
