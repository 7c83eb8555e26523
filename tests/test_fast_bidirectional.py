"""Both directions of a Bidirectional(LSTM) scanned together (runtime/fast/bidirectional.py)
compute what each direction's reference op computes, and every call the pair does not take
runs the direction's own prepared LSTM.

Bidirectional models are checked against live Keras by test_parity.py through ``predict``,
which pairs the directions wherever it can; here the pair is compared with the reference
LSTM op directly, without Keras. No timing asserts.
"""

from __future__ import annotations

import itertools
import types

import numpy as np
import pytest
from conftest import tolerance

from rnnconvert.runtime.fast import bidirectional, fast_lstm, pair_bidirectional
from rnnconvert.runtime.ops.lstm import lstm


def _direction(rng, *, D, H, backwards, seqs, use_bias, gate):
    cfg = {
        "units": H,
        "activation": {"type": "tanh"},
        "recurrent_activation": (
            {"type": "sigmoid"} if gate == "sigmoid" else {"type": "hard_sigmoid", "slope": 0.2, "offset": 0.5}
        ),
        "return_sequences": seqs,
        "go_backwards": backwards,
    }
    w = {
        "kernel": rng.normal(0, 0.5, (D, 4 * H)).astype(np.float32),
        "recurrent_kernel": rng.normal(0, 0.5, (H, 4 * H)).astype(np.float32),
    }
    if use_bias:
        w["bias"] = rng.normal(0, 0.5, 4 * H).astype(np.float32)
    return cfg, w


def _close(got, want):
    assert len(got) == len(want)
    for a, e in zip(got, want):
        assert a.shape == e.shape and a.dtype == np.float32
        assert float(np.max(np.abs(a - e))) <= tolerance(e)


def _pair(rng, **kw):
    (cf, wf), (cb, wb) = (_direction(rng, backwards=b, **kw) for b in (False, True))
    pair = bidirectional.PairedLSTM(fast_lstm(cf, wf), fast_lstm(cb, wb))
    return pair, (cf, wf), (cb, wb)


@pytest.mark.parametrize(
    "seqs, use_bias, gate, T",
    list(itertools.product([True, False], [True, False], ["sigmoid", "hard_sigmoid"], [2, 7])),
)
def test_paired_directions_match_reference(seqs, use_bias, gate, T):
    rng = np.random.default_rng(T * 8 + seqs * 4 + use_bias * 2 + (gate == "sigmoid"))
    pair, (cf, wf), (cb, wb) = _pair(rng, D=5, H=6, seqs=seqs, use_bias=use_bias, gate=gate)
    x = rng.normal(0, 1, (1, T, 5)).astype(np.float32)
    got_f = pair.forward(x)
    got_b = pair.backward(x)  # handed over from the forward call
    _close(got_f, lstm(x, **wf, **cf))
    _close(got_b, lstm(x, **wb, **cb))


def test_first_step_skips_its_product_only_with_finite_weights():
    """Before step 0 both hidden states are 0, so the pair takes z = the input projection
    without the product -- exact only while 0 @ R is 0: a non-finite recurrent weight
    (0 * inf = NaN, as in the reference op and Keras) makes the pair multiply at step 0 too."""
    rng = np.random.default_rng(2)
    for bad in (False, True):
        (cf, wf), (cb, wb) = (
            _direction(rng, D=4, H=3, backwards=b, seqs=True, use_bias=True, gate="sigmoid") for b in (False, True)
        )
        if bad:
            wf["recurrent_kernel"][1, 2] = np.inf
        pair = bidirectional.PairedLSTM(fast_lstm(cf, wf), fast_lstm(cb, wb))
        assert pair.finite is not bad
        x = rng.normal(0, 1, (1, 5, 4)).astype(np.float32)
        got, want = pair.forward(x), lstm(x, **wf, **cf)
        assert bool(np.isnan(want[0][0, 0]).any()) is bad  # the reference is NaN from step 0 on
        for a, e in zip(got, want):
            np.testing.assert_array_equal(np.isnan(a), np.isnan(e))
            fin = np.isfinite(e)
            assert float(np.max(np.abs(a[fin] - e[fin]), initial=0.0)) <= tolerance(e)
        _close(pair.backward(x), lstm(x, **wb, **cb))


def test_calls_the_pair_does_not_take_run_each_direction(monkeypatch):
    """Batch > 1, one timestep, initial states, a different input object, a backward call
    without a forward one, a sequence over PAIR_ELEMENTS: each direction's own scan."""
    rng = np.random.default_rng(1)
    pair, (cf, wf), (cb, wb) = _pair(rng, D=4, H=3, seqs=True, use_bias=True, gate="sigmoid")
    x = rng.normal(0, 1, (1, 5, 4)).astype(np.float32)
    pair.forward(x)
    other = x.copy()
    other[0, 0, 0] += 1.0
    _close(pair.backward(other), lstm(other, **wb, **cb))  # not the input the forward call saw
    _close(pair.backward(x), lstm(x, **wb, **cb))  # nothing handed over any more
    xb = rng.normal(0, 1, (3, 5, 4)).astype(np.float32)
    _close(pair.forward(xb), lstm(xb, **wf, **cf))
    _close(pair.backward(xb), lstm(xb, **wb, **cb))
    x1 = rng.normal(0, 1, (1, 1, 4)).astype(np.float32)
    _close(pair.forward(x1), lstm(x1, **wf, **cf))
    _close(pair.backward(x1), lstm(x1, **wb, **cb))
    init = [rng.normal(0, 1, (1, 3)).astype(np.float32) for _ in range(2)]
    pair.forward(x)
    _close(pair.backward(x, initial_state=init), lstm(x, **wb, **cb, initial_state=init))
    monkeypatch.setattr(bidirectional, "PAIR_ELEMENTS", 4)
    assert not pair._takes(x, {})
    _close(pair.forward(x), lstm(x, **wf, **cf))
    _close(pair.backward(x), lstm(x, **wb, **cb))


def _node(name, call, inputs, op="LSTM", **extra):
    fields = {"mask": None, "initial_state": [], "named": {}, "config": {}, "fast": True}
    fields.update(extra)
    return types.SimpleNamespace(name=name, op=op, call=call, inputs=inputs, **fields)


def test_pairing_takes_only_bidirectional_lstm_pairs():
    rng = np.random.default_rng(2)
    (cf, wf), (cb, wb) = (
        _direction(rng, D=4, H=3, backwards=b, seqs=True, use_bias=True, gate="sigmoid") for b in (False, True)
    )
    f, b = fast_lstm(cf, wf), fast_lstm(cb, wb)
    ref = [("x", 0)]
    nodes = [_node("fwd", f, ref), _node("bwd", b, ref)]
    assert pair_bidirectional(nodes) == 1
    assert nodes[0].call.__self__ is nodes[1].call.__self__
    refused = [
        [_node("fwd", f, ref), _node("bwd", b, [("y", 0)])],  # different inputs
        [_node("fwd", f, ref), _node("bwd", f, ref)],  # two forward directions
        [_node("fwd", f, ref, mask=("m", 0)), _node("bwd", b, ref)],  # masked
        [_node("fwd", f, ref, config={"stateful": True}), _node("bwd", b, ref)],
        [_node("fwd", f, ref), _node("bwd", fast_lstm({**cb, "return_sequences": False}, wb), ref)],
    ]
    for pair_nodes in refused:
        assert pair_bidirectional(pair_nodes) == 0
        assert pair_nodes[0].call is f


@pytest.mark.keras
@pytest.mark.parametrize("era", ["keras3", "tf_keras"])
@pytest.mark.parametrize("case", ["bidirectional_lstm_every_merge_mode", "bidirectional_return_state_stacked"])
def test_paired_directions_match_keras_at_batch_1(zoo, zoo_bundle, case, era):
    """The zoo's Bidirectional(LSTM) models, one example at a time (the pair runs at batch 1
    only), against Keras's outputs for the same example."""
    from conftest import assert_parity

    from rnnconvert.runtime import load

    built = zoo.get(case, era)
    model = load(zoo_bundle(case, era, "h5").out_dir)
    paired = [
        n for n in model._executor.plan.nodes if isinstance(getattr(n.call, "__self__", None), bidirectional.PairedLSTM)
    ]
    assert paired  # the pairs were taken
    for row in range(built.inputs[0].shape[0]):
        ours = model.predict(built.inputs[0][row : row + 1])
        assert_parity(ours, [y[row : row + 1] for y in built.expected], f"{case}/{era} row {row}")


@pytest.mark.parametrize("mnk", [1, 6 * 24 * 4, 1 << 18])  # one product / blocks of 4 rows / one block
def test_batch_1_projection_blocks_match_reference(monkeypatch, mnk):
    """The batch-1 input projection as one product (blocks of fewer than MIN_BLOCK_ROWS rows
    would re-read the kernel per row) or in one-thread row blocks: the same numbers."""
    from rnnconvert.runtime.fast import scan

    monkeypatch.setattr(scan.blas, "SINGLE_THREAD_MNK", mnk)
    rng = np.random.default_rng(mnk)
    for backwards in (False, True):
        cfg, w = _direction(rng, D=6, H=6, backwards=backwards, seqs=True, use_bias=True, gate="sigmoid")
        x = rng.normal(0, 1, (1, 11, 6)).astype(np.float32)
        _close(fast_lstm(cfg, w)(x), lstm(x, **w, **cfg))
