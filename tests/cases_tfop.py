"""Keras cases for inline tensor operations: tf_keras records ``tf.*`` calls and ``x[...]``
on Keras tensors as TFOpLambda / SlicingOpLambda layers, Keras 3 records ``keras.ops`` calls
as operation nodes. One model per era holds the allow-list (shape ops, slicing with negative
indices and steps, ellipsis and newaxis, element-wise math and comparisons with constants
and broadcast tensors, reductions, matmul, activations, casts); a recurrent model mixes
per-step operations (which stream) with operations over time (which do not)."""

from __future__ import annotations

import numpy as np
from keras_zoo import case, randomize


def _ops(era):
    """The era's functions under one set of names: ``tf`` for tf_keras, ``keras.ops`` for Keras 3."""
    if era == "tf_keras":
        import tensorflow as tf

        return {
            "transpose": lambda x, p: tf.transpose(x, p),
            "reshape": lambda x, s: tf.reshape(x, s),
            "concat": lambda xs, a: tf.concat(xs, axis=a),
            "stack": lambda xs, a: tf.stack(xs, axis=a),
            "expand": lambda x, a: tf.expand_dims(x, a),
            "squeeze": lambda x, a: tf.squeeze(x, axis=a),
            "sum": lambda x, a, k=False: tf.reduce_sum(x, axis=a, keepdims=k),
            "mean": lambda x, a, k=False: tf.reduce_mean(x, axis=a, keepdims=k),
            "max": lambda x, a, k=False: tf.reduce_max(x, axis=a, keepdims=k),
            "min": lambda x, a, k=False: tf.reduce_min(x, axis=a, keepdims=k),
            "prod": lambda x, a, k=False: tf.reduce_prod(x, axis=a, keepdims=k),
            "any": lambda x, a: tf.reduce_any(x, axis=a),
            "all": lambda x, a: tf.reduce_all(x, axis=a),
            "matmul": lambda a, b, tb=False: tf.matmul(a, b, transpose_b=tb),
            "softmax": lambda x, a: tf.nn.softmax(x, axis=a),
            "relu": tf.nn.relu,
            "sigmoid": tf.sigmoid,
            "tanh": tf.tanh,
            "cast": lambda x, d: tf.cast(x, d),
            "maximum": tf.maximum,
            "minimum": tf.minimum,
            "greater": tf.greater,
            "less_equal": tf.less_equal,
            "equal": tf.equal,
            "not_equal": tf.not_equal,
            "logical_not": tf.logical_not,
            "logical_and": tf.logical_and,
            "abs": tf.abs,
            "exp": tf.exp,
            "log": tf.math.log,
            "sqrt": tf.sqrt,
            "square": tf.square,
            "rsqrt": tf.math.rsqrt,
            "floor": tf.floor,
            "round": tf.round,
            "sign": tf.sign,
            "mod": tf.math.floormod,
            "sq_diff": tf.math.squared_difference,
            "newaxis": tf.newaxis,
        }
    from keras import ops

    return {
        "transpose": lambda x, p: ops.transpose(x, p),
        "reshape": lambda x, s: ops.reshape(x, s),
        "concat": lambda xs, a: ops.concatenate(xs, axis=a),
        "stack": lambda xs, a: ops.stack(xs, axis=a),
        "expand": lambda x, a: ops.expand_dims(x, a),
        "squeeze": lambda x, a: ops.squeeze(x, axis=a),
        "sum": lambda x, a, k=False: ops.sum(x, axis=a, keepdims=k),
        "mean": lambda x, a, k=False: ops.mean(x, axis=a, keepdims=k),
        "max": lambda x, a, k=False: ops.max(x, axis=a, keepdims=k),
        "min": lambda x, a, k=False: ops.min(x, axis=a, keepdims=k),
        "prod": lambda x, a, k=False: ops.prod(x, axis=a, keepdims=k),
        "any": lambda x, a: ops.any(x, axis=a),
        "all": lambda x, a: ops.all(x, axis=a),
        "matmul": lambda a, b, tb=False: ops.matmul(a, ops.transpose(b, (0, 2, 1)) if tb else b),
        "softmax": lambda x, a: ops.softmax(x, axis=a),
        "relu": ops.relu,
        "sigmoid": ops.sigmoid,
        "tanh": ops.tanh,
        "cast": lambda x, d: ops.cast(x, d),
        "maximum": ops.maximum,
        "minimum": ops.minimum,
        "greater": ops.greater,
        "less_equal": ops.less_equal,
        "equal": ops.equal,
        "not_equal": ops.not_equal,
        "logical_not": ops.logical_not,
        "logical_and": ops.logical_and,
        "abs": ops.abs,
        "exp": ops.exp,
        "log": ops.log,
        "sqrt": ops.sqrt,
        "square": ops.square,
        "rsqrt": ops.rsqrt,
        "floor": ops.floor,
        "round": ops.round,
        "sign": ops.sign,
        "mod": ops.mod,
        "sq_diff": lambda a, b: ops.square(a - b),
        "newaxis": None,
    }


@case("tfop_tensor_ops")
def _(K, era, rng):
    o = _ops(era)
    x = K.Input((5, 4))
    v = K.Input((4,))
    f = lambda t: o["cast"](t, "float32")  # noqa: E731 -- booleans out as numbers
    pos = o["abs"](x) + 0.5
    outs = [
        o["transpose"](x, [0, 2, 1]),
        o["reshape"](x, [-1, 20]),
        o["reshape"](x, [-1, 2, 10]),
        o["concat"]([x, x * 2.0], -1),
        o["concat"]([x, x[:, :2]], 1),
        o["stack"]([x, -x, x], 1),
        o["stack"]([x, x], -1),
        o["expand"](x, 2),
        o["squeeze"](x[:, 1:2], 1),
        x[:, -1, :],
        x[:, 2],
        x[..., ::-1, o["newaxis"], 1:3],
        x[:, 1:-1:2, -3:],
        x[:, ::-2, ::3],
        x[:, -2:, o["newaxis"]],
        x[:, 4:1:-1, -1],
        1.0 - x,
        2.0 / (x + 3.0),
        x**2,
        2.0**x,
        -x,
        x * v[:, o["newaxis"], :],
        x - v[:, o["newaxis"], :],
        o["maximum"](x, x[:, -1:, :]),
        o["minimum"](x, 0.25),
        o["mod"](x, 0.7),
        x // 0.3,
        o["sq_diff"](x, x[:, :1, :]),
        o["abs"](x) + o["square"](x) + o["exp"](x),
        o["log"](pos) + o["sqrt"](pos) + o["rsqrt"](pos),
        o["floor"](x * 3.0) + o["round"](x * 3.0) + o["sign"](x),
        f(o["greater"](x, 0.5)),
        f(o["less_equal"](x, v[:, o["newaxis"], :])),
        f(o["logical_and"](o["greater"](x, -0.5), o["logical_not"](o["greater"](x, 0.5)))),
        f(o["equal"](o["round"](x), 0.0)),
        f(o["not_equal"](o["round"](x), o["round"](x[:, :1, :]))),
        o["sum"](x, [1], True),
        o["mean"](x, -1),
        o["max"](x, 1),
        o["min"](x, [1, 2]),
        o["prod"](x, 2, True),
        f(o["any"](o["greater"](x, 1.0), 1)),
        f(o["any"](o["greater"](x, 1.2), [1, 2])),
        f(o["all"](o["greater"](x, -1.5), -1)),
        o["matmul"](x, x, True),
        o["softmax"](x, 1),
        o["softmax"](x, -1),
        o["relu"](x) + o["sigmoid"](x) + o["tanh"](x),
        o["cast"](o["cast"](x * 4.0, "int32"), "float32"),
    ]
    m = K.Model([x, v], outs)
    return m, [rng.normal(0, 1, (3, 5, 4)).astype(np.float32), rng.normal(0, 1, (3, 4)).astype(np.float32)]


@case("tfop_recurrent")
def _(K, era, rng):
    o = _ops(era)
    x = K.Input((None, 3))
    h = K.layers.LSTM(4, return_sequences=True)(x)
    step = o["tanh"](h * 2.0 + 1.0) - o["cast"](o["greater"](h, 0.0), "float32")  # per step: streams
    y = K.layers.Dense(2)(o["concat"]([step, h[:, :, 1:3]], -1))  # per step too
    outs = [
        y,
        h[:, -1, :],  # the last step: not per step
        o["mean"](h, 1),
        o["softmax"](h, 1),
        K.layers.Dense(3)(h[:, ::-1]),
        o["transpose"](h, [0, 2, 1]),
        o["transpose"](o["transpose"](h, [1, 0, 2]) * 2.0, [1, 0, 2]),  # batch and time swapped, and back
    ]
    if era == "tf_keras":  # the pattern: a time-major LSTM between two tf.transpose
        tm = K.layers.LSTM(2, time_major=True, return_sequences=True)(o["transpose"](h, [1, 0, 2]))
        outs.append(o["transpose"](tm, [1, 0, 2]))
    m = K.Model(x, outs)
    randomize(m, rng)
    return m, [rng.normal(0, 1, (2, 7, 3)).astype(np.float32)]


@case("tfop_streaming")
def _(K, era, rng):
    """Only per-step operations after the LSTM: the model streams step by step."""
    o = _ops(era)
    x = K.Input((None, 3))
    h = K.layers.LSTM(4, return_sequences=True)(x)
    a = o["maximum"](h * 2.0 - 0.1, h[:, :, ::-1]) / (o["abs"](h) + 1.0)
    b = o["cast"](o["greater"](h, x[:, :, :1]), "float32") + o["sum"](h, -1, True)
    c = o["squeeze"](o["stack"]([h, a], 2)[:, :, 1:2], 2)
    y = K.layers.Dense(2)(o["concat"]([a, b, c, o["sigmoid"](h)], -1))
    m = K.Model(x, [y, o["mean"](h[:, :, o["newaxis"], 1:], -1)])
    randomize(m, rng)
    return m, [rng.normal(0, 1, (2, 6, 3)).astype(np.float32)]
