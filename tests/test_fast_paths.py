"""The prepared fast paths (runtime/fast/) compute what the reference ops compute.

The reference ops are checked against live Keras by test_parity.py (through ``predict``,
which runs the fast paths wherever they apply); here every configuration the fast paths
take -- batch 1 (row kernels) and batch > 1 (feature-major buffers), one timestep (the
streaming path) and many, chunked projections, go_backwards, initial states, no bias,
sigmoid and hard_sigmoid gates, both GRU variants -- is compared with the reference op
directly, without Keras, within the parity tolerance. No timing asserts.
"""

from __future__ import annotations

import functools
import itertools
import warnings
import zlib

import numpy as np
import pytest
from conftest import tolerance

from rnnconvert.runtime import blas, fast
from rnnconvert.runtime.fast import dense as fast_dense_module
from rnnconvert.runtime.fast import scan
from rnnconvert.runtime.ops.core import dense
from rnnconvert.runtime.ops.gru import gru
from rnnconvert.runtime.ops.lstm import lstm
from rnnconvert.runtime.ops.simple_rnn import simple_rnn

GATES = {"LSTM": 4, "GRU": 3, "GRU_v1": 3, "SimpleRNN": 1}
REFERENCE = {"LSTM": lstm, "GRU": gru, "GRU_v1": gru, "SimpleRNN": simple_rnn}
PREPARE = {"LSTM": fast.fast_lstm, "GRU": fast.fast_gru, "GRU_v1": fast.fast_gru, "SimpleRNN": fast.fast_simple_rnn}


def _layer(op, rng, *, D=5, H=6, use_bias=True, gate="sigmoid", act="tanh", **flags):
    g = GATES[op]
    cfg = {"units": H, "activation": {"type": act}, **flags}
    if op != "SimpleRNN":
        cfg["recurrent_activation"] = (
            {"type": "sigmoid"} if gate == "sigmoid" else {"type": "hard_sigmoid", "slope": 1 / 6, "offset": 0.5}
        )
    if op.startswith("GRU"):
        cfg["reset_after"] = op == "GRU"
    w = {
        "kernel": rng.normal(0, 0.5, (D, g * H)).astype(np.float32),
        "recurrent_kernel": rng.normal(0, 0.5, (H, g * H)).astype(np.float32),
    }
    if use_bias:
        w["bias"] = rng.normal(0, 0.5, (2, g * H) if op == "GRU" else (g * H,)).astype(np.float32)
    return cfg, w


def _close(got, want, what):
    assert len(got) == len(want), what
    for k, (a, e) in enumerate(zip(got, want)):
        assert a.shape == e.shape and a.dtype == np.float32, (what, k, a.shape, e.shape, a.dtype)
        err = float(np.max(np.abs(a - e))) if e.size else 0.0
        assert err <= tolerance(e), f"{what} output {k}: {err:.3g}"


CONFIGS = list(
    itertools.product(
        ["LSTM", "GRU", "GRU_v1", "SimpleRNN"],
        [1, 3],  # batch: row kernels / feature-major buffers
        [0, 1, 2, 9],  # timesteps: empty, the one-step path, scans
        [False, True],  # return_sequences
        [False, True],  # go_backwards
        [False, True],  # initial_state
    )
)


@pytest.mark.parametrize("op, B, T, seqs, backwards, init", CONFIGS)
def test_fast_path_matches_reference_op(op, B, T, seqs, backwards, init):
    rng = np.random.default_rng(zlib.crc32(repr((op, B, T, seqs, backwards, init)).encode()))
    for use_bias, gate in [(True, "sigmoid"), (False, "sigmoid"), (True, "hard_sigmoid")]:
        if op == "SimpleRNN" and gate != "sigmoid":
            continue
        cfg, w = _layer(op, rng, use_bias=use_bias, gate=gate, return_sequences=seqs, go_backwards=backwards)
        x = rng.normal(0, 1, (B, T, 5)).astype(np.float32)
        kw = {}
        if init:
            kw["initial_state"] = [rng.normal(0, 1, (B, 6)).astype(np.float32) for _ in range(2 if op == "LSTM" else 1)]
        prepared = PREPARE[op](cfg, w)
        assert prepared is not None
        _close(prepared(x, **kw), REFERENCE[op](x, **w, **cfg, **kw), f"{op} bias={use_bias} {gate}")


@pytest.mark.parametrize("op", ["LSTM", "GRU", "GRU_v1", "SimpleRNN"])
def test_chunked_projection_matches(op, monkeypatch):
    """A sequence longer than one chunk: the state crosses chunk boundaries unchanged."""
    monkeypatch.setattr(scan, "CHUNK_ELEMENTS", 4 * 6 * 4 * 3)  # 3-4 timesteps per chunk
    rng = np.random.default_rng(3)
    for B in (1, 4):
        cfg, w = _layer(op, rng, return_sequences=True, go_backwards=B == 4)
        x = rng.normal(0, 1, (B, 23, 5)).astype(np.float32)
        _close(PREPARE[op](cfg, w)(x), REFERENCE[op](x, **w, **cfg), f"{op} B={B}")


def test_simple_rnn_other_elementwise_activation():
    rng = np.random.default_rng(4)
    for act in ("relu", "sigmoid", "linear"):
        cfg, w = _layer("SimpleRNN", rng, act=act, return_sequences=True)
        for B, T in ((1, 7), (3, 7), (2, 1)):
            x = rng.normal(0, 1, (B, T, 5)).astype(np.float32)
            _close(fast.fast_simple_rnn(cfg, w)(x), simple_rnn(x, **w, **cfg), act)


def test_unsupported_configurations_use_the_reference():
    rng = np.random.default_rng(5)
    cfg, w = _layer("LSTM", rng, act="relu")
    assert fast.fast_lstm(cfg, w) is None  # only tanh cells are folded
    cfg, w = _layer("GRU", rng)
    cfg["recurrent_activation"] = {"type": "softmax", "axis": -1}
    assert fast.fast_gru(cfg, w) is None
    cfg, w = _layer("SimpleRNN", rng, act="softmax")
    assert fast.fast_simple_rnn(cfg, w) is None


@pytest.mark.parametrize(
    "act",
    [
        {"type": "softmax", "axis": -1},
        {"type": "relu"},
        {"type": "tanh"},
        {"type": "linear"},
        {"type": "gelu", "approximate": False},
    ],
)
def test_dense_fast_path(act):
    rng = np.random.default_rng(6)
    w = {"kernel": rng.normal(0, 1, (7, 4)).astype(np.float32), "bias": rng.normal(0, 1, 4).astype(np.float32)}
    run = fast.fast_dense({"activation": act}, w)
    for shape in ((1, 7), (3, 7), (2, 5, 7)):
        x = rng.normal(0, 3, shape).astype(np.float32)
        _close(run(x), dense(x, **w, activation=act), str(act))
    ids = rng.integers(0, 3, (2, 7))  # not float32: the reference's promotion applies
    np.testing.assert_array_equal(run(ids)[0], dense(ids, **w, activation=act)[0])


def test_inputs_are_not_modified():
    rng = np.random.default_rng(8)
    for op in PREPARE:
        cfg, w = _layer(op, rng, return_sequences=True)
        for T in (1, 5):
            x = rng.normal(0, 1, (2, T, 5)).astype(np.float32)
            init = [rng.normal(0, 1, (2, 6)).astype(np.float32) for _ in range(2 if op == "LSTM" else 1)]
            copies = [x.copy(), *(s.copy() for s in init), *(a.copy() for a in w.values())]
            PREPARE[op](cfg, w)(x, initial_state=init)
            for a, b in zip([x, *init, *w.values()], copies):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("op", ["LSTM", "GRU", "GRU_v1", "SimpleRNN"])
def test_row_products_in_column_blocks(op, monkeypatch):
    """Batch-1 products split into column blocks (kept on the calling BLAS thread) add up."""
    monkeypatch.setattr(blas, "SINGLE_THREAD_KN", 40)  # every product here gets split
    rng = np.random.default_rng(9)
    for T in (1, 6):
        cfg, w = _layer(op, rng, return_sequences=True)
        x = rng.normal(0, 1, (1, T, 5)).astype(np.float32)
        _close(PREPARE[op](cfg, w)(x), REFERENCE[op](x, **w, **cfg), f"{op} T={T}")
    w = {"kernel": rng.normal(0, 1, (7, 50)).astype(np.float32), "bias": rng.normal(0, 1, 50).astype(np.float32)}
    x = rng.normal(0, 1, (1, 7)).astype(np.float32)
    act = {"type": "softmax", "axis": -1}
    _close(fast.fast_dense({"activation": act}, w)(x), dense(x, **w, activation=act), "Dense")


@pytest.mark.parametrize("op", ["LSTM", "GRU", "SimpleRNN"])
def test_memory_is_bounded_in_the_sequence_length(op, monkeypatch):
    """Without return_sequences a call's peak allocation does not grow with T: the input
    projection is held one chunk (<= CHUNK_ELEMENTS values) at a time."""
    import tracemalloc

    monkeypatch.setattr(scan, "CHUNK_ELEMENTS", 4096)
    rng = np.random.default_rng(10)
    cfg, w = _layer(op, rng, D=8, H=16)
    run = PREPARE[op](cfg, w)
    peaks = {}
    for T in (1000, 4000):
        for B in (1, 8):
            x = rng.normal(0, 1, (B, T, 8)).astype(np.float32)
            tracemalloc.start()
            run(x)
            peaks[(T, B)] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    for B in (1, 8):
        # the chunk's projection and slots (4096 floats each) plus O(B * H) buffers, whatever T
        assert peaks[(4000, B)] <= peaks[(1000, B)] + 1024, (op, B, peaks)
        assert peaks[(4000, B)] < 3 * 4 * 4096 + 64 * 1024, (op, B, peaks)


def test_one_row_softmax_with_non_finite_values():
    """A one-row softmax (the streaming case) takes whole-array reductions; rows with inf
    or NaN fall back to the reference's arithmetic and give the same values."""
    from rnnconvert.runtime.ops.activations import softmax

    run = fast_dense_module._inplace_activation({"type": "softmax", "axis": -1})
    inf, nan = np.inf, np.nan
    rows = ([1, 2, 3, 4, 5], [inf, 0, 1, 2, 3], [-inf, 0, 1, 2, 3], [inf, inf, 0, 0, 0], [nan, 0, 1, 2, 3])
    for row in rows:
        x = np.array([row], np.float32)
        want = softmax(x)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no RuntimeWarning escapes, as from the reference
            got = run(x.copy())
        np.testing.assert_array_equal(got, want, err_msg=str(row))
    x = np.random.default_rng(11).normal(0, 30, (1, 5)).astype(np.float32)  # exp would overflow unshifted
    _close([run(x.copy())], [softmax(x)], "large logits")


@pytest.mark.parametrize(
    "go_backwards,return_sequences,gate,B",
    [
        (False, False, "sigmoid", 5),
        (True, True, "sigmoid", 4),
        (False, True, "hard_sigmoid", 3),
        (True, False, "hard_sigmoid", 7),
    ],
)
def test_masked_lstm_fast_path_equals_the_reference(go_backwards, return_sequences, gate, B):
    """The masked LSTM path (B > 1, no initial state) against the reference scan: padding
    before, after and inside rows, a fully masked row, an unmasked row, across chunk ends
    (a tiny CHUNK_ELEMENTS); where it does not apply (an initial state, zero_output_for_mask,
    B = 1) the reference op runs and gives the reference's numbers exactly."""
    rng = np.random.default_rng(zlib.crc32(f"{go_backwards}{return_sequences}{gate}{B}".encode()))
    cfg, w = _layer("LSTM", rng, D=4, H=5, gate=gate, go_backwards=go_backwards, return_sequences=return_sequences)
    T = 9
    x = rng.normal(0, 1, (B, T, 4)).astype(np.float32)
    mask = rng.random((B, T)) < 0.7
    mask[0] = [False] * 3 + [True] * (T - 3)  # pre-padded
    mask[1] = [True] * (T - 4) + [False] * 4  # post-padded
    mask[2] = False  # fully masked
    if B > 3:
        mask[3] = True
    reference = functools.partial(lstm, **w, **cfg)
    want = reference(x, mask=mask)
    call = fast.masked_fast(fast.fast_lstm(cfg, w), reference)
    for chunk in (scan.CHUNK_ELEMENTS, 2 * 5 * 4 * B):  # whole, and chunks of 2 steps
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(scan, "CHUNK_ELEMENTS", chunk)
            _close(call(x, mask=mask), want, f"masked, chunk {chunk}")
    prepared = fast.fast_lstm(cfg, w)
    assert prepared.call_masked(x, mask=mask) is not None  # the fast path took it
    h0 = [rng.normal(0, 1, (B, 5)).astype(np.float32) for _ in range(2)]
    assert prepared.call_masked(x, mask=mask, initial_state=h0) is None
    np.testing.assert_array_equal(call(x, mask=mask, initial_state=h0)[0], reference(x, mask=mask, initial_state=h0)[0])
    assert prepared.call_masked(x[:1], mask=mask[:1]) is None
    zero_cfg = {**cfg, "zero_output_for_mask": True}
    assert fast.fast_lstm(zero_cfg, w).call_masked(x, mask=mask) is None


def test_masked_fast_paths_list_exactly_the_ops_with_a_masked_call():
    """MASKED_FAST_PATHS names the ops whose prepared fast path has ``call_masked`` -- the plan
    prepares no other op's fast path for a masked node, since it could only be dropped."""
    rng = np.random.default_rng(5)
    prepared = {op: fast.prepare_fast(op, *_layer(op, rng)) for op in ("LSTM", "GRU", "SimpleRNN")}
    dense_w = {"kernel": rng.normal(0, 1, (4, 3)).astype(np.float32), "bias": np.zeros(3, np.float32)}
    prepared["Dense"] = fast.prepare_fast("Dense", {"activation": {"type": "relu"}}, dense_w)
    assert all(p is not None for p in prepared.values())
    assert {op for op, p in prepared.items() if hasattr(p, "call_masked")} == set(fast.MASKED_FAST_PATHS)


def test_a_masked_node_prepares_a_fast_path_only_where_it_can_take_masked_calls(monkeypatch):
    """Golden 1.0.0 has masked LSTM and GRU nodes: the GRU's fast path is not prepared (it was,
    then dropped), the LSTMs' are, and the model still reproduces its Keras vectors."""
    from pathlib import Path

    from rnnconvert.runtime import load, plan
    from rnnconvert.runtime.verify import run_vectors

    asked = []
    real = plan.prepare_fast

    def counting(op, config, weights):
        asked.append(op)
        return real(op, config, weights)

    monkeypatch.setattr(plan, "prepare_fast", counting)
    model = load(Path(__file__).parent / "data" / "golden" / "1.0.0" / "bundle")
    masked = {n.name: n.op for n in model._executor.plan.nodes if n.mask is not None}
    assert sorted(masked.values()) == ["GRU", "LSTM", "LSTM"]
    assert "GRU" not in asked and asked.count("LSTM") == 2
    report = run_vectors(model)
    assert report is not None and report.ok, report and report.lines()
