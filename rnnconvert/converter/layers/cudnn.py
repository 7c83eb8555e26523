"""CuDNNLSTM / CuDNNGRU (Keras 2.0.9+ and tf.keras GPU-only layers) converted to the
LSTM / GRU ops they equal, by the rule Keras itself loads them into LSTM / GRU
(Keras 2.2 ``saving._convert_rnn_weights``, tf_keras ``hdf5_format``):

* activations are fixed: tanh, with sigmoid gates (never hard_sigmoid);
* CuDNN reads each gate's input kernel (D, H) as its flat row-major values
  re-read as an (H, D) matrix: the equivalent Keras kernel is ``k.reshape(H, D).T``
  (Keras's ``k.T.reshape(k.shape, order='F')``); each gate's recurrent kernel is
  transposed;
* CuDNNLSTM keeps an input and a recurrent bias per gate, (8H,): they add up to the
  (4H,) bias; CuDNNGRU's (6H,) bias is the (2, 3H) bias of ``GRU(reset_after=True)``.

Gate order is Keras's (i, f, c, o and z, r, h) in both. CuDNN layers take no mask.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...runtime.spec import RECURRENT_FACTS
from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from .common import expect_weights
from .recurrent import convert_recurrent


def _per_gate(kernel: np.ndarray, gates: int, fn) -> np.ndarray:
    return np.concatenate([fn(k) for k in np.split(kernel, gates, axis=1)], axis=1)


def _convert(call: LayerCall, b: GraphBuilder, op: str, gates: int) -> list[Tensor]:
    if not call.inputs or call.inputs[0].rank != 3 or call.inputs[0].shape[-1] is None:
        raise Unsupported("input must be (batch, time, features) with known features")
    if call.call_mask(0) is not None:
        raise Unsupported("CuDNN recurrent layers take no mask (Keras refuses to run them masked)")
    units = call.int_opt("units", 0)
    if units <= 0:
        raise Unsupported("units must be positive")
    d = call.inputs[0].shape[-1]
    kernel, rec, bias = expect_weights(call, [(d, gates * units), (units, gates * units), (2 * gates * units,)])
    kernel = _per_gate(kernel, gates, lambda k: k.reshape(units, d).T)
    rec = _per_gate(rec, gates, lambda r: r.T)
    if op == "LSTM":
        bias = bias[: gates * units] + bias[gates * units :]  # input + recurrent bias
    else:
        bias = bias.reshape(2, gates * units)  # rows: input bias, recurrent bias
    weights = [np.ascontiguousarray(a, dtype=np.float32) for a in (kernel, rec, bias)]
    config = {
        **call.config,
        "activation": "tanh",
        "recurrent_activation": "sigmoid",
        "use_bias": True,
        "unroll": False,
    }
    if op == "GRU":
        config["reset_after"] = True
    return convert_recurrent(replace(call, config=config), b, op, weights=weights)


def convert_cudnn_lstm(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _convert(call, b, "LSTM", RECURRENT_FACTS["LSTM"].n_gates)


def convert_cudnn_gru(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _convert(call, b, "GRU", RECURRENT_FACTS["GRU"].n_gates)
