"""The inline tensor ops (FORMAT.md 5.51-5.59) against math written out as loops, their
load-time refusals and time rules, and the converter's refusals: every operation outside the
allow-list is named in the one error, nothing from the file is executed."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

from rnnconvert.converter import build_document
from rnnconvert.converter.readers import KerasSource, read_source
from rnnconvert.converter.readers.weights import WeightStore
from rnnconvert.errors import FormatError, InputError, RnnConvertError, UnsupportedError
from rnnconvert.runtime.ops import OPS
from rnnconvert.runtime.spec import PER_STEP, WHOLE_SEQUENCE, check_node, time_rule

RNG = np.random.default_rng(7)


def _slice_by_loops(x, starts, stops, steps, kinds):
    """Each kept axis's positions from start, stepping, while inside (Python slice rules)."""
    picks, keep = [], []
    for n, a, b, s, k in zip(x.shape, starts, stops, steps, kinds):
        if k == "index":
            picks.append([a + n if a < 0 else a])
            continue
        lo, hi = (-1, n - 1) if s < 0 else (0, n)

        def clamp(v, n=n, lo=lo, hi=hi):
            return max(v + n, lo) if v < 0 else min(v, hi)

        first = (hi if s < 0 else lo) if k in ("all", "from_start") else clamp(a)
        last = (lo if s < 0 else hi) if k in ("all", "to_end") else clamp(b)
        pos, p = [], first
        while (p < last) if s > 0 else (p > last):
            pos.append(p)
            p += s
        picks.append(pos)
        keep.append(len(pos))
    out = np.empty([len(p) for p in picks], x.dtype)
    for idx in itertools.product(*[range(len(p)) for p in picks]):
        out[idx] = x[tuple(p[i] for p, i in zip(picks, idx))]
    return out.reshape(keep)


@pytest.mark.parametrize(
    "starts,stops,steps,kinds",
    [
        ([0, -1, 0], [0, 0, 0], [1, 1, 1], ["all", "index", "all"]),
        ([0, 1, -3], [0, -1, 0], [1, 2, 1], ["all", "range", "to_end"]),
        ([0, 0, 0], [0, 0, 2], [1, -2, 3], ["all", "all", "from_start"]),
        ([0, 4, 2], [0, 1, 0], [1, -1, 1], ["all", "range", "index"]),
        ([0, -9, 9], [0, 9, -9], [1, 1, -1], ["all", "range", "range"]),  # bounds clamp
        ([0, 3, 0], [0, 1, 0], [1, 1, 1], ["all", "range", "all"]),  # empty
    ],
)
def test_slice_matches_loops(starts, stops, steps, kinds):
    x = RNG.normal(size=(2, 5, 4)).astype(np.float32)
    (y,) = OPS["Slice"](x, starts=starts, stops=stops, steps=steps, kinds=kinds)
    np.testing.assert_array_equal(y, _slice_by_loops(x, starts, stops, steps, kinds))


def test_slice_index_out_of_range_is_an_input_error():
    with pytest.raises(InputError, match="out of range"):
        OPS["Slice"](np.zeros((2, 3)), starts=[0, 3], stops=[0, 0], steps=[1, 1], kinds=["all", "index"])


def test_binary_and_compare_with_scalars_and_broadcasting():
    a = RNG.normal(size=(2, 3, 4)).astype(np.float32)
    b = RNG.normal(size=(2, 1, 4)).astype(np.float32)
    (y,) = OPS["Binary"](a, scalar=1.0, scalar_first=True, fn="subtract")
    np.testing.assert_allclose(y, [[[1.0 - v for v in r] for r in m] for m in a.tolist()], rtol=1e-6)
    (y,) = OPS["Binary"](a, b, fn="maximum")
    want = [[[max(a[i, j, k], b[i, 0, k]) for k in range(4)] for j in range(3)] for i in range(2)]
    np.testing.assert_array_equal(y, np.array(want, np.float32))
    (y,) = OPS["Compare"](a, b, fn="less_equal")
    assert y.dtype == bool and y.shape == (2, 3, 4)
    assert all(y[i, j, k] == (a[i, j, k] <= b[i, 0, k]) for i in range(2) for j in range(3) for k in range(4))


def test_floor_divide_and_mod_follow_the_divisors_sign():
    x = np.array([-1.0, 1.0, -0.35, 2.1], np.float32)
    (m,) = OPS["Binary"](x, scalar=0.7, fn="mod")
    (n,) = OPS["Binary"](x, scalar=-0.7, fn="mod")
    (q,) = OPS["Binary"](x, scalar=0.7, fn="floor_divide")
    for v, mv, nv, qv in zip(x.tolist(), m, n, q):
        assert math.isclose(mv, v - 0.7 * math.floor(v / 0.7), abs_tol=1e-6) and mv >= 0
        assert nv <= 0
        assert qv == math.floor(np.float32(v) / np.float32(0.7))


def test_unary_round_is_half_to_even_and_cast_truncates():
    x = np.array([[0.5, 1.5, 2.5, -0.5, -1.7, 2.7]], np.float32)
    assert OPS["Unary"](x, fn="round")[0].tolist() == [[0.0, 2.0, 2.0, -0.0, -2.0, 3.0]]
    assert OPS["Cast"](x, dtype="int32")[0].tolist() == [[0, 1, 2, 0, -1, 2]]
    assert OPS["Cast"](np.array([[0.0, -0.1]], np.float32), dtype="bool")[0].tolist() == [[False, True]]


def test_reduce_matmul_stack_squeeze_by_loops():
    x = RNG.normal(size=(2, 3, 4)).astype(np.float32)
    (s,) = OPS["Reduce"](x, fn="sum", axes=[1, 2], keepdims=True)
    assert s.shape == (2, 1, 1)
    for i in range(2):
        assert math.isclose(s[i, 0, 0], sum(float(v) for v in x[i].ravel()), abs_tol=1e-5)
    (p,) = OPS["Reduce"](x, fn="prod", axes=[1], keepdims=False)
    for i, k in itertools.product(range(2), range(4)):
        assert math.isclose(p[i, k], math.prod(float(x[i, j, k]) for j in range(3)), rel_tol=1e-5)
    (mm,) = OPS["MatMul"](x, x, transpose_a=False, transpose_b=True)
    for i, j, k in itertools.product(range(2), range(3), range(3)):
        assert math.isclose(mm[i, j, k], sum(float(x[i, j, d] * x[i, k, d]) for d in range(4)), abs_tol=1e-5)
    (st,) = OPS["Stack"](x, -x, axis=2)
    assert st.shape == (2, 3, 2, 4) and (st[:, :, 1] == -x).all()
    (sq,) = OPS["Squeeze"](st[:, :1], axes=[1])
    assert sq.shape == (2, 2, 4)
    with pytest.raises(InputError):
        OPS["Squeeze"](x, axes=[1])


@pytest.mark.parametrize(
    "op,config,match",
    [
        ("Slice", {"starts": [0], "stops": [0], "steps": [0], "kinds": ["all"]}, "steps must not be 0"),
        ("Slice", {"starts": [0, 1], "stops": [0], "steps": [1], "kinds": ["all"]}, "one entry per input axis"),
        ("Slice", {"starts": [0], "stops": [0], "steps": [1], "kinds": ["every"]}, "kinds"),
        ("Binary", {"fn": "system"}, "fn"),
        ("Reduce", {"fn": "sum", "axes": [], "keepdims": False}, "at least one"),
        ("Cast", {"dtype": "float64"}, "dtype"),
    ],
)
def test_bad_configs_fail_at_load(op, config, match):
    with pytest.raises(FormatError, match=match):
        check_node(op, config, {}, "node n", n_inputs=1, n_outputs=1)


def test_time_rules():
    whole = {"starts": [0, 0, 0], "stops": [0, 0, 0], "steps": [1, 1, 1], "kinds": ["all", "all", "range"]}
    assert time_rule("Slice", whole, {}, 3) == PER_STEP
    assert time_rule("Slice", {**whole, "kinds": ["all", "index", "all"]}, {}, 3) == WHOLE_SEQUENCE
    assert time_rule("Slice", {**whole, "steps": [1, -1, 1]}, {}, 3) == WHOLE_SEQUENCE
    assert time_rule("Reduce", {"fn": "mean", "axes": [1], "keepdims": False}, {}, 3) == WHOLE_SEQUENCE
    assert time_rule("Reduce", {"fn": "mean", "axes": [-1], "keepdims": False}, {}, 3) == PER_STEP
    assert time_rule("Stack", {"axis": 1}, {}, 3) == WHOLE_SEQUENCE
    assert time_rule("Stack", {"axis": 2}, {}, 3) == PER_STEP
    assert time_rule("Binary", {"fn": "add"}, {}, 3) == PER_STEP
    assert time_rule("MatMul", {"transpose_a": False, "transpose_b": False}, {}, 3) == WHOLE_SEQUENCE


def _tf_op(name, function, inbound):
    return {
        "class_name": "TFOpLambda",
        "name": name,
        "config": {"name": name, "trainable": True, "dtype": "float32", "function": function},
        "inbound_nodes": [inbound],
    }


def test_a_hostile_function_name_is_only_a_name():
    """A TFOpLambda naming any Python callable is refused by that name; nothing is imported or run."""
    cfg = {
        "class_name": "Functional",
        "config": {
            "name": "m",
            "layers": [
                {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_input_shape": [None, 4]}},
                _tf_op("a", "__import__('os').system('false')", ["x", 0, 0, {}]),
                _tf_op("b", "math.add", ["_CONSTANT_VALUE", -1, 1.0, {"y": ["x", 0, 0], "name": None}]),
                _tf_op("c", "io.write_file", ["b", 0, 0, {"contents": ["a", 0, 0]}]),
            ],
            "input_layers": [["x", 0, 0]],
            "output_layers": [["c", 0, 0]],
        },
    }
    src = KerasSource(cfg, "2.15.0", "tensorflow", "json+hdf5", WeightStore({}, "legacy"))
    with pytest.raises(UnsupportedError) as info:
        build_document(src)
    text = str(info.value)
    assert "tf.__import__('os').system('false') is not converted" in text
    assert "tf.io.write_file is not converted" in text
    assert len(info.value.problems) == 2  # b (1.0 + x) converts


@pytest.mark.keras
def test_tf_keras_refusals_are_listed_together(tmp_path):
    import tensorflow as tf
    import tf_keras as K

    x = K.Input((5, 4))
    outs = [
        tf.math.cumsum(x, axis=1),  # not in the allow-list
        x[1:],  # slices the batch
        tf.reshape(x, [-1, 4]),  # folds time into the batch
        tf.where(x > 0, x, 0.0),
        tf.reduce_sum(x),  # every axis, batch included
        x + 1.0,  # converts
    ]
    path = tmp_path / "m.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        K.Model(x, outs).save(path)
    with pytest.raises(RnnConvertError) as info:
        build_document(read_source(path))
    text = str(info.value)
    for want in ("tf.math.cumsum is not converted", "a slice of the batch axis", "tf.reshape: reshape to [-1, 4]"):
        assert want in text
    assert "tf.where" in text and "every axis" in text and "tf.__operators__.add" not in text


@pytest.mark.keras
def test_keras3_refusals_name_the_operation(tmp_path):
    import keras
    from keras import ops

    x = keras.Input((5, 4))
    outs = [ops.cumsum(x, axis=1), ops.sort(x), ops.sum(x), ops.reshape(x, (-1, 4)), ops.clip(x, 0.0, 1.0), x * 2]
    keras.Model(x, outs).save(tmp_path / "m.keras")
    with pytest.raises(RnnConvertError) as info:
        build_document(read_source(tmp_path / "m.keras"))
    text = str(info.value)
    for want in ("Keras operation Cumsum", "Keras operation Sort", "Keras operation Clip", "every axis", "(-1, 4)"):
        assert want in text or want.replace("(-1, 4)", "[-1, 4]") in text, want
    assert "multiply" not in text.lower()
