"""Keras cases for Attention and AdditiveAttention: every score mode, causal masks,
returned scores, a separate key, padding masks on query and value, and attention
inside recurrent encoder-decoder models -- in every era and file format."""

from __future__ import annotations

import numpy as np
from helpers import seq as _seq
from keras_zoo import PADDED_IDS, case, randomize


@case("attention_score_modes")
def _(K, era, rng):
    q, v, k = K.Input((4, 3)), K.Input((6, 3)), K.Input((6, 3))
    outs = [
        K.layers.Attention()([q, v]),
        K.layers.Attention(use_scale=True)([q, v, k]),
        K.layers.Attention(score_mode="concat")([q, v]),
        K.layers.Attention(use_scale=True, score_mode="concat")([q, v, k]),
        K.layers.AdditiveAttention()([q, v]),
        K.layers.AdditiveAttention(use_scale=False)([q, v, k]),
    ]
    o, s = K.layers.Attention(use_scale=True)([q, v], return_attention_scores=True)
    o2, s2 = K.layers.AdditiveAttention()([q, v, k], return_attention_scores=True)
    m = K.Model([q, v, k], outs + [o, s, o2, s2])
    randomize(m, rng)
    return m, [_seq(rng, 3, 4, 3), _seq(rng, 3, 6, 3), _seq(rng, 3, 6, 3)]


@case("attention_causal")
def _(K, era, rng):
    # Self-attention (Tq = Tv) and cross-attention with Tq < Tv and Tq > Tv, causal.
    x, y, z = K.Input((5, 4)), K.Input((7, 4)), K.Input((3, 4))
    outs = []
    for q, v in ((x, x), (x, y), (x, z)):
        o, s = K.layers.Attention(use_scale=True)([q, v], return_attention_scores=True, use_causal_mask=True)
        outs += [o, s]
        outs.append(K.layers.AdditiveAttention()([q, v], use_causal_mask=True))
    outs.append(K.layers.Attention(score_mode="concat")([x, y], use_causal_mask=True))
    m = K.Model([x, y, z], outs)
    randomize(m, rng)
    return m, [_seq(rng, 2, 5, 4), _seq(rng, 2, 7, 4), _seq(rng, 2, 3, 4)]


@case("attention_padding_masks")
def _(K, era, rng):
    # Query and value both padded (every pattern: pre, post, interior, fully masked);
    # the output keeps the query mask, which an LSTM and a pooling layer then read.
    qi, vi = K.Input((6,), dtype="int32"), K.Input((6,), dtype="int32")
    qe = K.layers.Embedding(10, 4, mask_zero=True)(qi)
    ve = K.layers.Embedding(10, 4, mask_zero=True)(vi)
    plain = K.layers.Dense(4)(K.layers.Embedding(10, 4)(vi))  # unmasked
    a, s = K.layers.Attention(use_scale=True)([qe, ve], return_attention_scores=True)
    b = K.layers.AdditiveAttention()([qe, ve])
    c = K.layers.Attention()([qe, plain])  # query mask only
    d = K.layers.AdditiveAttention()([plain, ve], use_causal_mask=True)  # value mask only, and causal
    outs = [a, s, b, c, d, K.layers.LSTM(3)(a), K.layers.GlobalAveragePooling1D()(b)]
    m = K.Model([qi, vi], outs)
    randomize(m, rng)
    return m, [PADDED_IDS, PADDED_IDS[::-1].copy()]


@case("attention_seq2seq_lstm")
def _(K, era, rng):
    # The classic Luong-attention translator: encoder LSTM, decoder LSTM started from
    # the encoder's states, attention of the decoder over the encoder, softmax head.
    src, tgt = K.Input((None,), dtype="int32"), K.Input((None,), dtype="int32")
    enc_seq, h, c = K.layers.LSTM(8, return_sequences=True, return_state=True)(
        K.layers.Embedding(20, 6, mask_zero=True)(src)
    )
    dec = K.layers.LSTM(8, return_sequences=True)(K.layers.Embedding(20, 6)(tgt), initial_state=[h, c])
    ctx = K.layers.Attention()([dec, enc_seq])
    both = K.layers.Concatenate()([dec, ctx])
    out = K.layers.Dense(20, activation="softmax")(K.layers.Dense(8, activation="tanh")(both))
    m = K.Model([src, tgt], out)
    randomize(m, rng)
    return m, [PADDED_IDS, rng.integers(1, 20, (5, 4)).astype(np.int32)]


@case("attention_bahdanau_gru_pooling")
def _(K, era, rng):
    # A GRU encoder, additive self-attention over its states, pooled, then a classifier;
    # with a Conv1D front end.
    x = K.Input((9, 5))
    h = K.layers.Conv1D(6, 3, padding="causal", activation="relu")(x)
    seq = K.layers.GRU(6, return_sequences=True)(h)
    att = K.layers.AdditiveAttention()([seq, seq])
    pooled = K.layers.GlobalMaxPooling1D()(K.layers.Add()([seq, att]))
    m = K.Model(x, K.layers.Dense(3, activation="softmax")(pooled))
    randomize(m, rng)
    return m, [_seq(rng, 4, 9, 5)]
