"""Keras cases for EinsumDense, MultiHeadAttention and GroupedQueryAttention: every
equation form, propagated padding masks, attention_mask, causal masks, returned scores
(which switch Keras 3 to its other masking path), output_shape, attention_axes, GQA."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import seq as _seq
from keras_zoo import PADDED_IDS, case, randomize


@case("attn_einsum_dense")
def _(K, era, rng):
    # Every equation form, bias_axes, activations.
    x = K.Input((5, 4))
    E = K.layers.EinsumDense
    outs = [
        E("abc,cd->abd", output_shape=(None, 6), bias_axes="d")(x),
        E("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de", activation="tanh")(x),
        E("abc,bcd->ad", output_shape=(3,), bias_axes="d")(x),  # contracts time too
        E("...c,cd->...d", output_shape=(7,), activation="relu")(x),
        E("abc,cd->abd", output_shape=(5, 3), bias_axes="b")(x),  # a bias per timestep
        E("ab...,bd->ad...", output_shape=(2, 4), bias_axes="d")(x),
    ]
    # MultiHeadAttention on rank-4 inputs: over both inner axes (the default) and over one.
    y = K.Input((3, 4, 5))
    M = K.layers.MultiHeadAttention
    o1, s1 = M(2, 3)(y, y, return_attention_scores=True)
    o2, s2 = M(2, 2, attention_axes=(2,))(y, y, return_attention_scores=True)
    o3 = M(2, 2, attention_axes=(1,), output_shape=(3,))(y, y)
    m = K.Model([x, y], outs + [o1, s1, o2, s2, o3])
    randomize(m, rng)
    return m, [_seq(rng, 3, 5, 4), rng.normal(0, 1, (3, 3, 4, 5)).astype(np.float32)]


@case("attn_mha")
def _(K, era, rng):
    # Self- and cross-attention, separate key, value_dim, output_shape, causal, a
    # (B, T, S) attention_mask, and scores returned (Keras 3's Softmax-layer path).
    q, v, k = K.Input((4, 6)), K.Input((5, 3)), K.Input((5, 2))
    am = K.Input((4, 5), dtype="bool")
    M = K.layers.MultiHeadAttention
    o1 = M(2, 3)(q, q)
    o2, s2 = M(3, 2, value_dim=4, output_shape=(5,))(q, v, k, return_attention_scores=True)
    o3 = M(2, 3, use_bias=False)(q, v, use_causal_mask=True)
    o4, s4 = M(2, 3, output_shape=(2, 3))(q, q, return_attention_scores=True, use_causal_mask=True)
    o5 = M(2, 3)(q, v, attention_mask=am)
    o6, s6 = M(1, 4)(q, v, attention_mask=am, return_attention_scores=True, use_causal_mask=True)
    outs = [o1, o2, s2, o3, o4, s4, o5, o6, s6]
    if era == "tf_keras":  # tf_keras's other softmax masking (tf.where instead of adding -1e9)
        outs += list(M(2, 3, softmax_robust_masking=True)(q, v, attention_mask=am, return_attention_scores=True))
    m = K.Model([q, v, k, am], outs)
    randomize(m, rng)
    mask = rng.random((3, 4, 5)) > 0.4
    mask[0, 1] = False  # a fully masked row
    return m, [_seq(rng, 3, 4, 6), _seq(rng, 3, 5, 3), _seq(rng, 3, 5, 2), mask]


@case("attn_mha_padding")
def _(K, era, rng):
    # Embedding(mask_zero) masks propagated on query and value (fully padded rows too),
    # with and without returned scores (Keras 3's two masking paths), causal, dropout; the
    # output keeps the query mask (an LSTM reads it). tf_keras: the masked tensors are shared
    # by every layer; Keras 3 removes a mask from a tensor its attention reads, so there each
    # attention reads tensors of its own (the shared case is refused, test_attn_ops).
    qi, vi = K.Input((6,), dtype="int32"), K.Input((6,), dtype="int32")
    cache = {}

    def emb(ids, key):
        if era == "keras3" or key not in cache:
            cache[key] = K.layers.Embedding(10, 4, mask_zero=True)(ids)
        return cache[key]

    M = K.layers.MultiHeadAttention
    a = M(2, 3)(emb(qi, "q"), emb(vi, "v"))
    b, s = M(2, 3)(emb(qi, "q"), emb(vi, "v"), return_attention_scores=True)
    q = emb(qi, "q")
    c = M(2, 2)(q, q, use_causal_mask=True)
    d = M(1, 3, dropout=0.3)(emb(vi, "v"), emb(qi, "q"))  # dropout > 0: Keras 3's Softmax-layer path
    outs = [a, b, s, c, d, K.layers.LSTM(3)(a), K.layers.GlobalAveragePooling1D()(c)]
    m = K.Model([qi, vi], outs)
    randomize(m, rng)
    return m, [PADDED_IDS, PADDED_IDS[::-1].copy()]


@case("attn_gqa")
def _(K, era, rng):
    # Keras 3 only: GroupQueryAttention, MultiHeadAttention(use_gate, sliding_window).
    if era != "keras3":
        pytest.skip("GroupedQueryAttention is Keras 3 only")
    qi = K.Input((6,), dtype="int32")
    qe = K.layers.Embedding(10, 8)(qi)
    v = K.Input((6, 8))
    G = K.layers.GroupQueryAttention
    qm = K.layers.Embedding(10, 8, mask_zero=True)(qi)  # read by this attention alone
    o1 = G(3, 4, 2)(qm, v)  # 4 query heads, 2 key/value heads; padded queries
    o2, s2 = G(2, 4, 1)(qe, qe, return_attention_scores=True, use_causal_mask=True)
    o3 = G(2, 2, 2, use_bias=False)(v, v, use_causal_mask=True)
    o4 = K.layers.MultiHeadAttention(2, 3, use_gate=True)(v, v)
    o5, s5 = K.layers.MultiHeadAttention(2, 3, sliding_window=2)(v, v, return_attention_scores=True)
    o6 = G(2, 2, 1, sliding_window=3)(v, v, use_causal_mask=True)
    m = K.Model([qi, v], [o1, o2, s2, o3, o4, o5, s5, o6])
    randomize(m, rng)
    return m, [PADDED_IDS, _seq(rng, 5, 6, 8)]
