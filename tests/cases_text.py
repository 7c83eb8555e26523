"""Keras cases for the preprocessing layers: Discretization, CategoryEncoding,
IntegerLookup and StringLookup (every output mode, masks, OOV buckets, idf weights),
feeding an Embedding + LSTM as a real text model does -- in every era and file format.
String inputs hold punctuation, accents, CJK, an emoji and the empty string."""

from __future__ import annotations

import numpy as np
from keras_zoo import case, randomize

WORDS = ["the", "cat", "sat", "on", "mat", "ünï", "日本", "dog"]
TEXT = np.array(
    [
        ["the", "cat", "sat", "on", "the", "mat"],
        ["ünï", "日本", "", "", "", ""],
        ["dog", "Dog", "naïve!", "👍", "a,b", "cat"],
        ["", "", "", "", "", ""],
    ],
    dtype=str,
)


@case("text_lookups")
def _(K, era, rng):
    L = K.layers
    s = K.Input((6,), dtype="string")
    ids = K.Input((5,), dtype="int64")
    x = K.Input((4,))
    one = K.Input((1,), dtype="string")
    x1 = K.Input((1,))
    outs = [
        L.StringLookup(vocabulary=WORDS)(s),
        L.StringLookup(vocabulary=WORDS, mask_token="", output_mode="int")(s),
        L.StringLookup(vocabulary=["[UNK]", *WORDS], num_oov_indices=1)(s),  # specials given: stripped
        L.StringLookup(vocabulary=WORDS, output_mode="multi_hot")(s),
        L.StringLookup(vocabulary=WORDS, mask_token="", output_mode="count")(s),
        L.StringLookup(vocabulary=WORDS, output_mode="one_hot")(one),
        L.StringLookup(vocabulary=WORDS, output_mode="tf_idf", idf_weights=list(np.linspace(0.5, 2.0, 8)))(s),
        L.StringLookup(vocabulary=WORDS, output_mode="count", pad_to_max_tokens=True, max_tokens=12)(s),
        L.IntegerLookup(vocabulary=[3, 7, 11, 42])(ids),
        L.IntegerLookup(vocabulary=[3, 7, 11, 42], num_oov_indices=3, mask_token=0)(ids),
        L.IntegerLookup(vocabulary=[3, 7, 11, 42], output_mode="multi_hot", num_oov_indices=2)(ids),
        L.StringLookup(vocabulary=WORDS, num_oov_indices=3)(s),  # OOV strings: FarmHash buckets
        L.Discretization(bin_boundaries=[-1.0, 0.0, 0.5, 2.0])(x),
        L.Discretization(bin_boundaries=[-1.0, 0.0, 0.5], output_mode="one_hot")(x1),
        L.Discretization(bin_boundaries=[0.0, 1.0], output_mode="count")(x),
        L.CategoryEncoding(num_tokens=6, output_mode="multi_hot")(L.Discretization(bin_boundaries=[0.0, 1.0])(x)),
    ]
    enc = L.CategoryEncoding(num_tokens=5, output_mode="count")(L.IntegerLookup(vocabulary=[3, 7, 11, 42])(ids))
    outs.append(enc)
    if era == "keras3":  # oov_method / salt are Keras 3 options
        outs.append(L.StringLookup(vocabulary=WORDS, num_oov_indices=4, salt=[7, -3])(s))
        outs.append(L.IntegerLookup(vocabulary=[3, 7], num_oov_indices=3, oov_method="farmhash")(ids))
        outs.append(L.IntegerLookup(vocabulary=[3, 7], num_oov_indices=3, oov_method="farmhash", salt=11)(ids))
    if era == "keras3":  # tf_keras encodes up to rank 2 only
        outs.append(L.StringLookup(vocabulary=WORDS, output_mode="one_hot")(L.Reshape((6, 1))(s)))
        outs.append(
            L.CategoryEncoding(num_tokens=5, output_mode="one_hot")(L.IntegerLookup(vocabulary=[3, 7, 11])(ids))
        )
    # A text classifier: tokens -> ids (0 = padding) -> masked Embedding -> LSTM.
    tok = L.StringLookup(vocabulary=WORDS, mask_token="")(s)
    outs.append(L.LSTM(3)(L.Embedding(len(WORDS) + 2, 4, mask_zero=True)(tok)))
    m = K.Model([s, ids, x, one, x1], outs)
    randomize(m, rng)
    int_ids = np.array([[3, 7, 0, 5, 42], [11, 11, -4, 9, 3], [0, 0, 0, 0, 1], [42, 100, 7, 3, 12]], np.int64)
    floats = np.array([[-2, -1, 0, 0.3], [0.5, 0.6, 2.0, 3.0], [-1.0001, 1.0, 0.49, 2.5], [0, 0, 0, 0]], np.float32)
    return m, [TEXT, int_ids, floats, np.array([["cat"], ["Cat"], [""], ["日本"]]), floats[:, 2:3]]


SENTENCES = np.array(
    [
        "The cat sat on the mat. The END!",
        "Ünïcödé ΟΔΟΣ: naïve café, 日本語  text\twith\ttabs",
        "it's a-b_c (don't) [x] {y} ~z~ ¡hola! «quoted»",
        "",
        "   MiXeD   case\u00a0nbsp\u3000ideographic\nnew line  ",
        "the the the cat 👍 dog",
    ]
)
TV_VOCAB = [
    "the",
    "cat",
    "sat",
    "on",
    "mat",
    "end",
    "naïve",
    "café",
    "日本語",
    "its",
    "abc",
    "dont",
    "the cat",
    "cat sat",
]


@case("text_vectorization")
def _(K, era, rng):
    L = K.layers
    s = K.Input((1,), dtype="string")
    outs = [
        L.TextVectorization(vocabulary=TV_VOCAB)(s),
        L.TextVectorization(vocabulary=TV_VOCAB, output_sequence_length=5)(s),
        L.TextVectorization(vocabulary=TV_VOCAB, output_sequence_length=12, ngrams=2)(s),
        L.TextVectorization(vocabulary=TV_VOCAB, standardize="lower", output_mode="multi_hot")(s),
        L.TextVectorization(vocabulary=TV_VOCAB, standardize="strip_punctuation", output_mode="count")(s),
        L.TextVectorization(vocabulary=TV_VOCAB, standardize=None, output_mode="count", ngrams=(1, 3))(s),
        L.TextVectorization(vocabulary=list("abcdefghijklmnopqrstuvwxyzéü日"), split="character")(s),
        L.TextVectorization(
            vocabulary=TV_VOCAB, output_mode="tf_idf", idf_weights=list(np.linspace(0.2, 3.0, len(TV_VOCAB)))
        )(s),
        L.TextVectorization(vocabulary=TV_VOCAB, output_mode="count", pad_to_max_tokens=True, max_tokens=20)(s),
        L.TextVectorization(vocabulary=TV_VOCAB, split=None, standardize="lower")(s),
    ]
    # A classifier on the token ids: masked Embedding -> GRU -> Dense.
    ids = L.TextVectorization(vocabulary=TV_VOCAB, output_sequence_length=10)(s)
    outs.append(L.Dense(2)(L.GRU(3)(L.Embedding(len(TV_VOCAB) + 2, 4, mask_zero=True)(ids))))
    m = K.Model(s, outs)
    randomize(m, rng)
    return m, [SENTENCES[:, None]]


@case("text_hashing")
def _(K, era, rng):
    L = K.layers
    s = K.Input((4,), dtype="string")
    i = K.Input((3,), dtype="int64")
    one = K.Input((1,), dtype="string")
    f = K.Input((4,))
    outs = [
        L.Hashing(num_bins=7)(s),
        L.Hashing(num_bins=1000003)(s),
        L.Hashing(num_bins=5, mask_value="")(s),
        L.Hashing(num_bins=11, salt=133)(s),
        L.Hashing(num_bins=11, salt=[2**40 + 7, 99])(s),
        L.Hashing(num_bins=6, output_mode="multi_hot")(s),
        L.Hashing(num_bins=6, output_mode="count", salt=5)(s),
        L.Hashing(num_bins=4, output_mode="one_hot")(one),
        L.Hashing(num_bins=9)(i),
        L.Hashing(num_bins=9, mask_value=0, salt=[1, 2])(i),
    ]
    if era == "keras3":  # Keras 3 hashes floats (truncated to integers, as decimal text); tf_keras refuses them
        outs += [L.Hashing(num_bins=13)(f), L.Hashing(num_bins=13, mask_value=0, salt=3)(f)]
    m = K.Model([s, i, one, f], outs)
    long = "a long sentence of more than sixty-four bytes, with ünïcödé and 日本語 text: 👍👍👍 " * 3
    text = np.array(
        [["", "cat", "Cat", "naïve"], ["日本語", "👍", long, "a" * 17], [long[:33], long[:64], long[:65], long[:200]]]
    )
    ids = np.array([[0, -1, 5], [2**40, 7, 0], [-(2**62), 123456789, 1]], np.int64)
    floats = np.array([[-2.7, 0.0, 1e6 + 0.5, 3.99], [0.5, -0.5, 7, 2**40], [0, 0, -1, 1]], np.float32)
    return m, [text, ids, np.array([["x"], ["y"], [""]]), floats]
