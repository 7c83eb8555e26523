"""EinsumDense and DotProductAttention without Keras: the equation grammar, the math
against loops written from FORMAT.md 5.38-5.39, load-time refusals; and the Keras 3
refusal of a masked tensor shared between an attention and another layer."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnconvert.errors import FormatError
from rnnconvert.runtime.ops.attn import dot_product_attention, einsum_dense
from rnnconvert.runtime.spec import check_node
from rnnconvert.runtime.spec.attn import EquationError, parse_equation

LINEAR = {"type": "linear"}


@pytest.mark.parametrize("eq", ["abc,cd->abd", "...b,bc->...c", "ab...,bc->ac...", "abc,bcd->ad", "ab,b->a"])
def test_equations_keras_accepts_parse(eq):
    parse_equation(eq)


@pytest.mark.parametrize(
    "eq",
    [
        "abc,cd->abd ",  # trailing space
        "abc,cd->abd;__import__('os')",  # trailing text (Keras's re.match would let it through)
        "ab c,cd->abd",
        "abb,bd->ad",  # a letter twice in one term
        "abc,cd->abe",  # an output letter from nowhere
        "abc,cde->abd",  # a kernel letter bound to nothing
        "a...,ab->b",  # a trailing ellipsis needs two letters
        "...b,...bc->...c",  # no ellipsis on the kernel
        "abc,cd",
        "abc,cd->...abd",
        "a" * 200 + ",ab->b",
        7,
    ],
)
def test_equations_outside_the_grammar_are_refused(eq):
    with pytest.raises(EquationError):
        parse_equation(eq)


def test_einsum_dense_matches_loops():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    k = rng.normal(size=(4, 2, 5)).astype(np.float32)
    bias = rng.normal(size=(2, 5)).astype(np.float32)
    (y,) = einsum_dense(x, kernel=k, bias=bias, equation="abc,cde->abde", activation=LINEAR)
    want = np.zeros((2, 3, 2, 5))
    for a, b, c, d, e in itertools.product(range(2), range(3), range(4), range(2), range(5)):
        want[a, b, d, e] += float(x[a, b, c]) * float(k[c, d, e])
    np.testing.assert_allclose(y, want + bias, rtol=1e-5, atol=1e-5)
    # a trailing ellipsis: the input's trailing axes pass through
    k2 = rng.normal(size=(3, 6)).astype(np.float32)
    (y2,) = einsum_dense(x, kernel=k2, equation="ab...,bd->ad...", activation={"type": "tanh"})
    want2 = np.zeros((2, 6, 4))
    for a, b, d, e in itertools.product(range(2), range(3), range(6), range(4)):
        want2[a, d, e] += float(x[a, b, e]) * float(k2[b, d])
    np.testing.assert_allclose(y2, np.tanh(want2), rtol=1e-5, atol=1e-5)


def test_einsum_dense_refuses_a_bias_that_does_not_broadcast_and_a_wrong_kernel():
    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(FormatError, match="broadcast"):
        einsum_dense(
            x,
            kernel=np.zeros((4, 5), np.float32),
            bias=np.zeros((3,), np.float32),
            equation="abc,cd->abd",
            activation=LINEAR,
        )
    with pytest.raises(FormatError, match="axes"):
        einsum_dense(x, kernel=np.zeros((4,), np.float32), equation="abc,cd->abd", activation=LINEAR)
    with pytest.raises(FormatError):
        check_node("EinsumDense", {"equation": "abc,cd->abd)", "activation": LINEAR}, {"kernel": np.zeros((4, 5))}, "n")


def _reference(q, k, v, keep, scale, masking, fill):
    """Loops from FORMAT.md 5.39 over (B, T, N, H) inputs; keep: (B, T, S) or None."""
    b_, t_, n_, h_ = q.shape
    s_, m_ = k.shape[1], k.shape[2]
    y = np.zeros((b_, t_, n_, v.shape[3]))
    p = np.zeros((b_, n_, t_, s_))
    for b, n, i in itertools.product(range(b_), range(n_), range(t_)):
        kv = n // (n_ // m_)
        row = np.array([np.float32(scale) * float(np.dot(q[b, i, n], k[b, j, kv])) for j in range(s_)])
        ok = np.ones(s_, bool) if keep is None else keep[b, i]
        if masking == "add":
            row = np.where(ok, row, row + fill)
        else:
            row = np.where(ok, row, fill)
        e = np.exp(row - row.max())
        w = e / e.sum()
        if masking == "where_zero":
            w = np.where(ok, w, 0.0)
        p[b, n, i] = w
        for j in range(s_):
            y[b, i, n] += w[j] * v[b, j, kv]
    return y, p


@pytest.mark.parametrize("masking,fill", [("add", -1e9), ("where", -1e9), ("where_zero", -1e9)])
def test_dot_product_attention_matches_loops(masking, fill):
    rng = np.random.default_rng(1)
    q = rng.normal(size=(2, 4, 4, 3)).astype(np.float32)  # 4 query heads
    k = rng.normal(size=(2, 5, 2, 3)).astype(np.float32)  # 2 key/value heads
    v = rng.normal(size=(2, 5, 2, 6)).astype(np.float32)
    qm = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
    vm = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0]], bool)  # batch 1: every key masked
    am = rng.random((2, 4, 5)) > 0.3
    keep = qm[:, :, None] & vm[:, None, :] & am & (np.arange(5)[None, :] <= np.arange(4)[:, None])[None]
    y, p = dot_product_attention(
        q, k, v, scale=0.5, scale_query=True, masking=masking, fill=fill, causal=True, attention_axes=[1],
        query_mask=qm, value_mask=vm, attention_mask=am,
    )  # fmt: skip
    want_y, want_p = _reference(q, k, v, keep, 0.5, masking, fill)
    np.testing.assert_allclose(p, want_p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y, want_y, rtol=1e-5, atol=1e-5)


def test_dot_product_attention_over_two_axes_and_refusals():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 4, 2, 5)).astype(np.float32)  # (B, X, Y, N, H)
    y, p = dot_product_attention(
        x, x, x, scale=1.0, scale_query=False, masking="where", fill=-1e9, causal=False, attention_axes=[1, 2]
    )
    assert p.shape == (2, 2, 3, 4, 3, 4) and y.shape == x.shape
    flat = x.reshape(2, 12, 2, 5)
    want_y, _ = _reference(flat, flat, flat, None, 1.0, "where", -1e9)
    np.testing.assert_allclose(y, want_y.reshape(x.shape), rtol=1e-5, atol=1e-5)
    with pytest.raises(FormatError, match="masks"):
        dot_product_attention(
            x, x, x, scale=1.0, scale_query=False, masking="where", fill=-1e9, causal=True, attention_axes=[1, 2]
        )


@pytest.mark.keras
def test_keras3_refuses_a_masked_tensor_an_attention_shares_with_another_layer(tmp_path):
    keras = pytest.importorskip("keras")
    from rnnconvert.converter import convert
    from rnnconvert.errors import UnsupportedError

    ids = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(ids)
    att = keras.layers.MultiHeadAttention(2, 3)(x, x)
    pooled = keras.layers.GlobalAveragePooling1D()(x)  # reads x's mask, or not, by Keras's execution order
    model = keras.Model(ids, [att, pooled])
    model.save(tmp_path / "m.keras")
    with pytest.raises(UnsupportedError, match="execution order"):
        convert(tmp_path / "m.keras", tmp_path / "out")
