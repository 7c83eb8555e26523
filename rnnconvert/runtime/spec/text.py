"""Declarations of the preprocessing ops (FORMAT.md 5.46-5.48): ``Discretization``,
``CategoryEncoding`` and ``Lookup`` (Keras's IntegerLookup / StringLookup).

The runtime imports numpy and the standard library only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .types import PER_STEP, WHOLE_SEQUENCE, Key, OpSpec, Slot

_1_3 = "1.3.0"
_MODES = ["one_hot", "multi_hot", "count"]
_DEPTH = {"type": "integer", "minimum": 1, "maximum": 1 << 24}
#: A vocabulary may hold at most this many entries (a bigger one is a hostile file).
MAX_VOCABULARY = 1 << 22
#: A token of a vocabulary (or the mask token) at most this many characters.
MAX_TOKEN = 1 << 12


def _encode_time(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    mode = config["output_mode"]
    if mode == "int" or (mode == "one_hot" and rank >= 3):
        return PER_STEP  # each value on its own (one_hot of (B, T): (B, T, depth))
    return PER_STEP if rank >= 3 else WHOLE_SEQUENCE  # multi_hot / count reduce the last axis


def _sorted_numbers(config: dict[str, Any], weights: dict[str, np.ndarray]) -> str | None:
    b = config["bin_boundaries"]
    return None if all(x <= y for x, y in zip(b, b[1:])) else "bin_boundaries must be sorted ascending"


def _token_ok(tok: Any, key_dtype: str) -> bool:
    if key_dtype == "string":
        return isinstance(tok, str) and len(tok) <= MAX_TOKEN
    return isinstance(tok, int) and not isinstance(tok, bool) and -(2**63) <= tok < 2**63


def _salt_ok(salt: Any) -> bool:
    return (
        isinstance(salt, list)
        and len(salt) == 2
        and all(
            isinstance(k, str) and 0 < len(k) <= 20 and k.isascii() and k.isdigit() and int(k) < 2**64 for k in salt
        )
    )


def _lookup_shapes(config: dict[str, Any], weights: dict[str, np.ndarray]) -> str | None:
    kd, vocab, mode = config["key_dtype"], config["vocabulary"], config["output_mode"]
    if len(vocab) > MAX_VOCABULARY:
        return f"vocabulary over {MAX_VOCABULARY} entries"
    if not all(_token_ok(t, kd) for t in vocab):
        return f"every vocabulary entry must be a {'string' if kd == 'string' else '64-bit integer'}"
    if len(set(vocab)) != len(vocab):
        return "vocabulary entries must be unique"
    mask = config["mask_token"]
    if mask is not None and not _token_ok(mask, kd):
        return "mask_token must be null or of the vocabulary's type"
    if kd == "string" and config["oov_method"] != "farmhash":
        return "string tokens take oov_method farmhash"
    if config["salt"] is not None and not _salt_ok(config["salt"]):
        return "salt must be null or two unsigned 64-bit integers written in decimal"
    idf = weights.get("idf_weights")
    if (idf is not None) != (mode == "tf_idf"):
        return "idf_weights goes with output_mode tf_idf"
    if idf is not None and (idf.ndim != 1 or idf.shape[0] != config["depth"]):
        return "idf_weights must be (depth,)"
    return None


def _optional_int(v: Any, hi: int) -> bool:
    return v is None or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= hi)


def _text_vectorization_shapes(config: dict[str, Any], weights: dict[str, np.ndarray]) -> str | None:
    ngrams = config["ngrams"]
    if ngrams is not None and not (
        isinstance(ngrams, list) and ngrams and len(ngrams) <= 64 and all(_optional_int(n, 64) and n for n in ngrams)
    ):
        return "ngrams must be null or a non-empty list of widths in [1, 64]"
    if not _optional_int(config["output_sequence_length"], 1 << 20):
        return "output_sequence_length must be null or an integer in [0, 2**20]"
    if "" in config["vocabulary"]:
        return "the vocabulary may not hold the mask token ''"
    return _lookup_shapes(
        {
            **config,
            "key_dtype": "string",
            "mask_token": "",
            "num_oov_indices": 1,
            "oov_method": "farmhash",
            "salt": None,
        },
        weights,
    )


def _hashing_shapes(config: dict[str, Any], weights: dict[str, np.ndarray]) -> str | None:
    mask, salt = config["mask_token"], config["salt"]
    if mask is not None and not (isinstance(mask, str) and len(mask) <= MAX_TOKEN) and not _token_ok(mask, "int64"):
        return "mask_token must be null, a string or an integer"
    if salt is not None and not _salt_ok(salt):
        return "salt must be null or two unsigned 64-bit integers written in decimal"
    if config["output_mode"] != "int" and config["num_bins"] > 1 << 24:
        return "an encoded output takes at most 2**24 bins"
    return None


TEXT_SPECS = [
    OpSpec(
        "Discretization",
        _1_3,
        {"bin_boundaries": Key({"type": "array", "items": {"type": "number"}, "maxItems": 1 << 20}, since=_1_3)},
        time=lambda c, w, r: PER_STEP,
        shapes=_sorted_numbers,
        doc="bucket index of each value: how many boundaries are <= it (int64)",
    ),
    OpSpec(
        "CategoryEncoding",
        _1_3,
        {
            "num_tokens": Key(_DEPTH, since=_1_3),
            "output_mode": Key({"enum": _MODES}, since=_1_3),
        },
        inputs=("ids",),
        time=_encode_time,
        doc="one_hot / multi_hot / count of integer ids in [0, num_tokens)",
    ),
    OpSpec(
        "Lookup",
        _1_3,
        {
            "key_dtype": Key({"enum": ["string", "int64"]}, since=_1_3),
            "vocabulary": Key({"type": "array", "maxItems": MAX_VOCABULARY}, since=_1_3, doc="tokens, no specials"),
            "mask_token": Key({}, since=_1_3, doc="null, or a token of key_dtype"),
            "num_oov_indices": Key({"type": "integer", "minimum": 0, "maximum": 1 << 20}, since=_1_3),
            "output_mode": Key({"enum": ["int", *_MODES, "tf_idf"]}, since=_1_3),
            "depth": Key(_DEPTH, since=_1_3, doc="the width of a non-int output"),
            "oov_method": Key({"enum": ["floormod", "farmhash"]}, since=_1_3, doc="how k > 1 OOV buckets are chosen"),
            "salt": Key({}, since=_1_3, doc="null, or the SipHash-2-4 key [k0, k1] in decimal"),
        },
        {"idf_weights": Slot(required=False)},
        inputs=("tokens",),
        time=_encode_time,
        shapes=_lookup_shapes,
        doc="token -> index (IntegerLookup, StringLookup), then optionally encoded",
    ),
    OpSpec(
        "TextVectorization",
        _1_3,
        {
            "standardize": Key(
                {"enum": [None, "lower_and_strip_punctuation", "lower", "strip_punctuation"]}, since=_1_3
            ),
            "split": Key({"enum": [None, "whitespace", "character"]}, since=_1_3),
            "ngrams": Key({}, since=_1_3, doc="null, or the n-gram widths in order"),
            "output_sequence_length": Key({}, since=_1_3, doc="null, or the int output's length"),
            "vocabulary": Key({"type": "array", "maxItems": MAX_VOCABULARY}, since=_1_3, doc="tokens, no specials"),
            "output_mode": Key({"enum": ["int", "multi_hot", "count", "tf_idf"]}, since=_1_3),
            "depth": Key(_DEPTH, since=_1_3, doc="the width of a non-int output"),
        },
        {"idf_weights": Slot(required=False)},
        inputs=("text",),
        time=lambda c, w, r: WHOLE_SEQUENCE,
        shapes=_text_vectorization_shapes,
        doc="text -> token ids (padded) or a multi_hot / count / tf_idf encoding",
    ),
    OpSpec(
        "Hashing",
        _1_3,
        {
            "num_bins": Key({"type": "integer", "minimum": 1}, since=_1_3),
            "mask_token": Key({}, since=_1_3, doc="null, or the value that goes to bin 0"),
            "salt": Key({}, since=_1_3, doc="null (FarmHash64), or the SipHash-2-4 key [k0, k1] in decimal"),
            "output_mode": Key({"enum": ["int", *_MODES]}, since=_1_3),
        },
        inputs=("values",),
        time=_encode_time,
        shapes=_hashing_shapes,
        doc="each value's hash bin (strings, or integers as decimal text), optionally encoded",
    ),
]


# -- output sizes before a node runs (runtime/estimate.py, issue 12 item 9) ------------------
# An encoded output is as wide as its config says (num_tokens, num_bins, depth), whatever
# its input: each sizes its whole output, so a lying declaration is refused before it allocates.


def encoded_shape(shape: tuple[int, ...], depth: int, mode: str) -> tuple[int, ...]:
    """The shape ``encode`` (runtime/ops/text.py) gives ids of ``shape``."""
    if mode == "one_hot":
        return (*(shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape), depth)
    return (*shape[:-1], depth)


def _encoded(key: str) -> Any:
    def rule(c: dict[str, Any], ins: Sequence[tuple[int, ...]], rank: int) -> dict[int, int]:
        mode = c["output_mode"]
        if mode == "int":
            return {}  # one index per value: the input's shape
        return dict(enumerate(encoded_shape(ins[0], int(c[key]), "count" if mode == "tf_idf" else mode)))

    return rule


def _vectorized(c: dict[str, Any], ins: Sequence[tuple[int, ...]], rank: int) -> dict[int, int]:
    if c["output_mode"] != "int":
        return {0: ins[0][0], 1: int(c["depth"])}
    width = c["output_sequence_length"]
    return {} if width is None else {0: ins[0][0], 1: int(width)}  # else as long as the longest text


#: op -> (config, input shapes, output rank) -> {axis: size} of output 0
TEXT_SIZE_RULES = {
    "CategoryEncoding": _encoded("num_tokens"),
    "Hashing": _encoded("num_bins"),
    "Lookup": _encoded("depth"),
    "TextVectorization": _vectorized,
}
