"""Runtime ops with small hand-made weights: each expected value is worked out by
hand (or with the standard library's math), never taken from our own runtime."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnconvert.errors import FormatError, InputError
from rnnconvert.runtime.ops import OPS
from rnnconvert.runtime.ops.activations import activation_fn

f32 = np.float32


def sig(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


@pytest.mark.parametrize(
    "spec,x,want",
    [
        ({"type": "hard_sigmoid", "slope": 0.2, "offset": 0.5}, [-3.0, 1.0, 3.0], [0.0, 0.7, 1.0]),
        ({"type": "hard_sigmoid", "slope": 1 / 6, "offset": 0.5}, [-3.0, 1.0, 3.0], [0.0, 1 / 6 + 0.5, 1.0]),
        ({"type": "relu"}, [-1.0, 2.0], [0.0, 2.0]),
        (
            {"type": "relu", "negative_slope": 0.1, "max_value": 1.5, "threshold": 0.5},
            [0.0, 0.5, 1.0, 3.0],
            [-0.05, 0.0, 1.0, 1.5],
        ),
        ({"type": "leaky_relu", "negative_slope": 0.2}, [-2.0, 3.0], [-0.4, 3.0]),
        ({"type": "elu", "alpha": 1.0}, [-1.0, 2.0], [math.exp(-1) - 1, 2.0]),
        (
            {"type": "selu"},
            [1.0, -1.0],
            [1.0507009873554805, 1.0507009873554805 * 1.6732632423543772 * (math.exp(-1) - 1)],
        ),
        (
            {"type": "gelu", "approximate": False},
            [1.0, -0.5],
            [0.5 * (1 + math.erf(1 / math.sqrt(2))), -0.25 * (1 + math.erf(-0.5 / math.sqrt(2)))],
        ),
        (
            {"type": "gelu", "approximate": True},
            [1.0],
            [0.5 * (1 + math.tanh(math.sqrt(2 / math.pi) * (1 + 0.044715)))],
        ),
        ({"type": "softplus"}, [0.0, 50.0, -50.0], [math.log(2), 50.0, math.log1p(math.exp(-50))]),
        ({"type": "softsign"}, [1.0, -3.0], [0.5, -0.75]),
        ({"type": "swish"}, [1.0], [sig(1.0)]),
        ({"type": "hard_swish", "slope": 1 / 6, "offset": 0.5}, [1.0, -4.0], [1.0 * (1 / 6 + 0.5), 0.0]),
        ({"type": "mish"}, [1.0], [math.tanh(math.log1p(math.e))]),
        ({"type": "relu6"}, [-1.0, 7.0, 3.0], [0.0, 6.0, 3.0]),
        ({"type": "exponential"}, [1.0], [math.e]),
        ({"type": "log_sigmoid"}, [0.0], [math.log(0.5)]),
        ({"type": "hard_tanh"}, [-2.0, 0.5], [-1.0, 0.5]),
        ({"type": "tanh_shrink"}, [1.0], [1.0 - math.tanh(1.0)]),
        ({"type": "soft_shrink", "threshold": 0.5}, [1.0, -1.0, 0.2], [0.5, -0.5, 0.0]),
        ({"type": "hard_shrink", "threshold": 0.5}, [1.0, 0.2], [1.0, 0.0]),
        ({"type": "sparse_plus"}, [-2.0, 0.0, 2.0], [0.0, 0.25, 2.0]),
        ({"type": "sparse_sigmoid"}, [-2.0, 0.0, 2.0], [0.0, 0.5, 1.0]),
        ({"type": "squareplus", "b": 4.0}, [0.0], [1.0]),
        ({"type": "celu", "alpha": 2.0}, [-2.0, 1.0], [2.0 * (math.exp(-1) - 1), 1.0]),
        ({"type": "softmax", "axis": -1}, [0.0, math.log(3.0)], [0.25, 0.75]),
        ({"type": "log_softmax", "axis": -1}, [0.0, math.log(3.0)], [math.log(0.25), math.log(0.75)]),
        # Keras's sparsemax: one dominant value -> k = 1 -> tau = s0 - 1.
        ({"type": "sparsemax", "axis": -1}, [3.0, 0.0], [1.0, 0.0]),
        ({"type": "glu", "axis": -1}, [2.0, 0.0], [1.0]),
    ],
)
def test_activation_values(spec, x, want):
    got = activation_fn(spec)(np.array(x, dtype=f32))
    np.testing.assert_allclose(got, np.array(want, dtype=f32), rtol=1e-6, atol=1e-6)


def test_unknown_activation_is_a_format_error():
    with pytest.raises(FormatError, match="unknown activation"):
        activation_fn({"type": "nope"})


def test_dense_any_rank():
    x = np.arange(12, dtype=f32).reshape(1, 2, 3, 2)
    kernel = np.array([[1, 0, 2], [0, 1, 3]], f32)  # (2, 3)
    bias = np.array([10, 20, 30], f32)
    (y,) = OPS["Dense"](x, kernel=kernel, bias=bias, activation={"type": "linear"})
    assert y.shape == (1, 2, 3, 3)
    np.testing.assert_array_equal(y[0, 0, 0], [0 + 10, 1 + 20, 0 * 2 + 1 * 3 + 30])


def test_embedding_and_range_check():
    table = np.array([[0, 0], [1, 2], [3, 4]], f32)
    (y,) = OPS["Embedding"](np.array([[2, 1]]), embeddings=table)
    np.testing.assert_array_equal(y, [[[3, 4], [1, 2]]])
    (y,) = OPS["Embedding"](np.array([[2.7]], f32), embeddings=table)  # float ids truncate
    np.testing.assert_array_equal(y, [[[3, 4]]])
    with pytest.raises(InputError, match="out of range"):
        OPS["Embedding"](np.array([[3]]), embeddings=table)
    with pytest.raises(InputError, match="out of range"):
        OPS["Embedding"](np.array([[-1]]), embeddings=table)


def _lstm_cfg(**kw):
    cfg = dict(
        units=1,
        activation={"type": "tanh"},
        recurrent_activation={"type": "sigmoid"},
        return_sequences=True,
        go_backwards=False,
        zero_output_for_mask=False,
    )
    cfg.update(kw)
    return cfg


def test_lstm_gate_order_ifco():
    # D = H = 1, zero kernels: z = bias every step, so the gates are constants.
    b = np.array([0.5, -1.0, 2.0, 1.5], f32)  # i, f, c, o
    zeros = np.zeros((1, 4), f32)
    y, h, c = OPS["LSTM"](np.zeros((1, 2, 1), f32), kernel=zeros, recurrent_kernel=zeros, bias=b, **_lstm_cfg())
    i, f, g, o = sig(0.5), sig(-1.0), math.tanh(2.0), sig(1.5)
    c1 = i * g
    c2 = f * c1 + i * g
    np.testing.assert_allclose(y[0, :, 0], [o * math.tanh(c1), o * math.tanh(c2)], rtol=1e-6)
    np.testing.assert_allclose(c[0, 0], c2, rtol=1e-6)
    np.testing.assert_allclose(h, y[:, -1], rtol=0)


def _gru(x, kernel, rk, bias, reset_after, **kw):
    cfg = _lstm_cfg(reset_after=reset_after, **kw)
    return OPS["GRU"](x, kernel=kernel, recurrent_kernel=rk, bias=bias, **cfg)


def test_gru_update_rule_and_reset_after():
    # H = 1, D = 1. Recurrent kernel only in the candidate block, so r's placement matters.
    kernel = np.array([[0.0, 0.0, 1.0]], f32)  # z, r, h
    rk = np.array([[0.0, 0.0, 2.0]], f32)
    h0 = np.array([[0.5]], f32)
    x = np.array([[[1.0]]], f32)
    b_before = np.array([0.3, -0.2, 0.1], f32)
    (y, _) = _gru(x, kernel, rk, b_before, False, initial_state=[h0])
    z, r = sig(0.3), sig(-0.2)
    hh = math.tanh(1.0 + 0.1 + (r * 0.5) * 2.0)
    np.testing.assert_allclose(y[0, 0, 0], z * 0.5 + (1 - z) * hh, rtol=1e-6)
    b_after = np.array([[0.3, -0.2, 0.1], [0.05, 0.0, -0.4]], f32)
    (y, _) = _gru(x, kernel, rk, b_after, True, initial_state=[h0])
    z, r = sig(0.35), sig(-0.2)
    hh = math.tanh(1.0 + 0.1 + r * (0.5 * 2.0 - 0.4))
    np.testing.assert_allclose(y[0, 0, 0], z * 0.5 + (1 - z) * hh, rtol=1e-6)


def test_simple_rnn_mask_and_go_backwards():
    # Identity weights and linear activation: h_t = x_t + h_{t-1}, a running sum.
    one = np.ones((1, 1), f32)
    x = np.array([[[1.0], [2.0], [4.0], [8.0]]], f32)
    cfg = dict(units=1, activation={"type": "linear"}, return_sequences=True, zero_output_for_mask=False)
    y, h = OPS["SimpleRNN"](x, kernel=one, recurrent_kernel=one, go_backwards=False, **cfg)
    np.testing.assert_array_equal(y[0, :, 0], [1, 3, 7, 15])
    y, h = OPS["SimpleRNN"](x, kernel=one, recurrent_kernel=one, go_backwards=True, **cfg)
    np.testing.assert_array_equal(y[0, :, 0], [8, 12, 14, 15])  # processing order
    mask = np.array([[True, False, True, False]])
    y, h = OPS["SimpleRNN"](x, kernel=one, recurrent_kernel=one, go_backwards=False, mask=mask, **cfg)
    np.testing.assert_array_equal(y[0, :, 0], [1, 1, 5, 5])  # masked steps repeat the last output
    np.testing.assert_array_equal(h[0], [5])
    cfg["zero_output_for_mask"] = True
    y, h = OPS["SimpleRNN"](x, kernel=one, recurrent_kernel=one, go_backwards=False, mask=mask, **cfg)
    np.testing.assert_array_equal(y[0, :, 0], [1, 0, 5, 0])
    np.testing.assert_array_equal(h[0], [5])


def test_masking_op():
    x = np.array([[[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]], f32)
    data, mask = OPS["Masking"](x, mask_value=0.0)
    np.testing.assert_array_equal(mask, [[False, True, False]])
    np.testing.assert_array_equal(data, x)
    (m,) = OPS["NotEqualMask"](np.array([[0, 3, 0]]), value=0)
    np.testing.assert_array_equal(m, [[False, True, False]])
