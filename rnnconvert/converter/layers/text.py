"""Converters for the preprocessing layers: Discretization, CategoryEncoding,
IntegerLookup and StringLookup (FORMAT.md 5.46-5.48)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import GraphBuilder, LayerCall, Shape, Tensor, Unsupported
from .common import one_input

_ENCODINGS = ("one_hot", "multi_hot", "count")


def _encoded_shape(shape: Shape, mode: str, depth: int) -> Shape:
    if mode == "int":
        return shape
    if mode == "one_hot":
        keep = shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape
        return (*keep, depth)
    if len(shape) < 2:
        raise Unsupported(f"output_mode {mode!r} on a rank-1 input: Keras counts over the whole batch then")
    return (*shape[:-1], depth)


def _no_sparse(call: LayerCall) -> None:
    if call.opt("sparse"):
        raise Unsupported("sparse: sparse outputs are not converted")
    if call.opt("ragged"):
        raise Unsupported("ragged: ragged outputs are not converted")


def _encode(call: LayerCall, b: GraphBuilder, ids: Tensor, depth: int, mode: str, name: str) -> list[Tensor]:
    (out,) = b.node(
        "CategoryEncoding",
        name=name,
        inputs=[ids],
        config={"num_tokens": depth, "output_mode": mode},
        outputs=[(_encoded_shape(ids.shape, mode, depth), "float32")],
        layer=call,
    )
    return [out]


def convert_discretization(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    _no_sparse(call)
    x = one_input(call)
    bins = call.opt("bin_boundaries")
    if not isinstance(bins, list) or not bins:
        raise Unsupported("bin_boundaries: the file holds none (an adapted layer whose boundaries were not saved)")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in bins):
        raise Unsupported("bin_boundaries: every boundary must be a finite number")
    mode = call.opt("output_mode", "int")
    if mode not in ("int", *_ENCODINGS):
        raise Unsupported(f"output_mode {mode!r}")
    (ids,) = b.node(
        "Discretization",
        name=call.name if mode == "int" else f"{call.name}/bucketize",
        inputs=[x],
        config={"bin_boundaries": [float(np.float32(v)) for v in bins]},
        outputs=[(x.shape, "int64")],
        layer=call,
    )
    return [ids] if mode == "int" else _encode(call, b, ids, len(bins) + 1, mode, call.name)


def convert_category_encoding(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    _no_sparse(call)
    x = one_input(call)
    mode = call.opt("output_mode", "multi_hot")
    if mode not in _ENCODINGS:
        raise Unsupported(f"output_mode {mode!r}")
    if call.kwargs.get("count_weights") is not None:
        raise Unsupported("count_weights: weighted counts are not converted")
    return _encode(call, b, x, call.int_opt("num_tokens", minimum=1), mode, call.name)


def _special_tokens(call: LayerCall, mode: str, num_oov: int) -> list[Any]:
    mask = call.opt("mask_token")
    oov_start = 1 if mask is not None and mode == "int" else 0
    return [mask] * oov_start + [call.opt("oov_token")] * num_oov


def _vocabulary(call: LayerCall, key_dtype: str) -> list[Any]:
    vocab = call.opt("vocabulary")
    if isinstance(vocab, str):
        raise Unsupported(f"vocabulary: a file path ({vocab[:60]!r}) the model file does not hold")
    if vocab is None:
        raise Unsupported(
            "vocabulary: the file holds none (an adapted layer saved where its vocabulary is not kept: "
            "tf_keras .h5 files and Keras 3 .h5 files drop it; save as .keras)"
        )
    if not isinstance(vocab, list) or not vocab:
        raise Unsupported("vocabulary: expected a non-empty list")
    if key_dtype == "string":
        if not all(isinstance(t, str) for t in vocab):
            raise Unsupported("vocabulary: StringLookup entries must be strings")
    elif not all(isinstance(t, int) and not isinstance(t, bool) for t in vocab):
        raise Unsupported("vocabulary: IntegerLookup entries must be integers")
    return vocab


def _idf(call: LayerCall, vocab_len: int, found_special: bool, token_start: int, depth: int) -> np.ndarray:
    """The idf weights, padded as Keras pads them: the layer's weight when the file holds one
    (tf_keras tracks it; it is what the layer computes with), else the config's list."""
    arrays = [np.asarray(a) for a in call.weights if np.ndim(a) == 1 and np.shape(a)[0] == depth]
    if arrays:
        return arrays[0].astype(np.float32)
    idf = call.opt("idf_weights")
    if idf is None:
        raise Unsupported("idf_weights: output_mode tf_idf, and the file holds no idf weights")
    w = np.asarray(idf, np.float64)
    if w.ndim != 1 or w.shape[0] != vocab_len or not np.all(np.isfinite(w)):
        raise Unsupported("idf_weights: expected one finite number per vocabulary entry")
    front = 0 if found_special else token_start
    w = np.pad(w, (front, depth - front - w.shape[0]), constant_values=(np.average(w), 0.0))
    return w.astype(np.float32)


def _lookup_options(call: LayerCall, key_dtype: str) -> tuple[str, int]:
    _no_sparse(call)
    if call.opt("invert"):
        raise Unsupported("invert: index -> token lookups (string outputs) are not converted")
    mode = call.opt("output_mode", "int")
    if mode not in ("int", *_ENCODINGS, "tf_idf"):
        raise Unsupported(f"output_mode {mode!r}")
    num_oov = call.int_opt("num_oov_indices", 1, minimum=0)
    if call.opt("oov_method", "floormod") not in ("floormod", "farmhash"):
        raise Unsupported(f"oov_method {call.opt('oov_method')!r}")
    if call.opt("encoding", "utf-8") not in ("utf-8", "UTF-8", "utf8"):
        raise Unsupported(f"encoding {call.opt('encoding')!r}: only utf-8 is converted")
    return mode, num_oov


def _convert_lookup(call: LayerCall, b: GraphBuilder, key_dtype: str) -> list[Tensor]:
    x = one_input(call)
    mode, num_oov = _lookup_options(call, key_dtype)
    if (x.dtype == "string") != (key_dtype == "string"):
        raise Unsupported(f"input dtype {x.dtype}: a {call.class_name} reads {key_dtype} tokens")
    vocab = _vocabulary(call, key_dtype)
    specials = _special_tokens(call, mode, num_oov)
    found_special = vocab[: len(specials)] == specials
    tokens = vocab[len(specials) :] if found_special else vocab
    mask = call.opt("mask_token")
    if mask is not None and mask in tokens:
        raise Unsupported("vocabulary: holds the mask token at an unexpected place (Keras refuses it too)")
    token_start = len(specials)
    depth = token_start + len(tokens)
    if mode != "int" and call.opt("pad_to_max_tokens") and call.opt("max_tokens"):
        depth = max(depth, call.int_opt("max_tokens", minimum=1))
    weights = {}
    if mode == "tf_idf":
        weights["idf_weights"] = _idf(call, len(vocab), found_special, token_start, depth)
    config = {
        "key_dtype": key_dtype,
        "vocabulary": tokens,
        "mask_token": mask,
        "num_oov_indices": num_oov,
        "output_mode": mode,
        "depth": depth,
        "oov_method": "farmhash" if key_dtype == "string" else call.opt("oov_method", "floormod"),
        "salt": _salt(call),
    }
    out_dtype = "int64" if mode == "int" else "float32"
    return b.node(
        "Lookup",
        name=call.name,
        inputs=[x],
        config=config,
        weights=weights,
        outputs=[(_encoded_shape(x.shape, mode, depth), out_dtype)],
        layer=call,
    )


def convert_string_lookup(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _convert_lookup(call, b, "string")


def convert_integer_lookup(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    dt = call.opt("vocabulary_dtype", "int64")
    if dt not in ("int64", "int32"):
        raise Unsupported(f"vocabulary_dtype {dt!r}")
    return _convert_lookup(call, b, "int64")


_STANDARDIZE = (None, "lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = (None, "whitespace", "character")


def _builtin(call: LayerCall, key: str, allowed: tuple[str | None, ...]) -> str | None:
    value = call.opt(key, allowed[1])
    if value in allowed:
        return value
    name = value.get("config", value.get("class_name")) if isinstance(value, dict) else value
    raise Unsupported(f"{key}: the custom callable {str(name)[:60]!r} is not converted (only {allowed[1:]} are)")


def _ngrams(call: LayerCall) -> list[int] | None:
    n = call.opt("ngrams")
    if n is None:
        return None
    if isinstance(n, int) and not isinstance(n, bool) and n >= 1:
        return list(range(1, n + 1))
    if isinstance(n, (list, tuple)) and n and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in n):
        return list(n)
    raise Unsupported(f"ngrams {n!r}")


def convert_text_vectorization(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    _no_sparse(call)
    x = one_input(call)
    if x.dtype != "string":
        raise Unsupported(f"input dtype {x.dtype}: TextVectorization reads strings")
    standardize, split = _builtin(call, "standardize", _STANDARDIZE), _builtin(call, "split", _SPLIT)
    if call.opt("encoding", "utf-8") not in ("utf-8", "UTF-8", "utf8"):
        raise Unsupported(f"encoding {call.opt('encoding')!r}: only utf-8 is converted")
    if not (x.rank == 1 and split is not None) and not (x.rank == 2 and x.shape[1] == 1):
        raise Unsupported(f"input shape {x.shape}: TextVectorization is converted on (batch,) or (batch, 1) strings")
    mode = call.opt("output_mode", "int")
    if mode not in ("int", "multi_hot", "count", "tf_idf"):
        raise Unsupported(f"output_mode {mode!r}")
    length = call.opt("output_sequence_length")
    if length is not None:
        length = call.int_opt("output_sequence_length", minimum=0)
    vocab = _vocabulary(call, "string")
    specials = ["", "[UNK]"] if mode == "int" else ["[UNK]"]
    found_special = vocab[: len(specials)] == specials
    tokens = vocab[len(specials) :] if found_special else vocab
    if "" in tokens:
        raise Unsupported("vocabulary: holds the mask token '' at an unexpected place (Keras refuses it too)")
    depth = len(specials) + len(tokens)
    if mode != "int" and call.opt("pad_to_max_tokens") and call.opt("max_tokens"):
        depth = max(depth, call.int_opt("max_tokens", minimum=1))
    weights = {}
    if mode == "tf_idf":
        weights["idf_weights"] = _idf(call, len(vocab), found_special, len(specials), depth)
    config = {
        "standardize": standardize,
        "split": split,
        "ngrams": _ngrams(call),
        "output_sequence_length": length,
        "vocabulary": tokens,
        "output_mode": mode,
        "depth": depth,
    }
    shape = (x.shape[0], length) if mode == "int" else (x.shape[0], depth)
    return b.node(
        "TextVectorization",
        name=call.name,
        inputs=[x],
        config=config,
        weights=weights,
        outputs=[(shape, "int64" if mode == "int" else "float32")],
        layer=call,
    )


def _salt(call: LayerCall) -> list[str] | None:
    salt = call.opt("salt")
    if salt is None:
        return None
    pair = [salt, salt] if isinstance(salt, int) else salt
    if not (
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(k, int) and not isinstance(k, bool) for k in pair)
    ):
        raise Unsupported(f"salt {str(salt)[:40]!r}: expected an integer or two")
    if not all(-(2**63) <= k < 2**64 for k in pair):
        raise Unsupported("salt: beyond 64 bits")
    return [str(k % 2**64) for k in pair]  # TensorFlow reads the key as two uint64


def convert_hashing(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    _no_sparse(call)
    x = one_input(call)
    mode = call.opt("output_mode", "int")
    if mode not in ("int", *_ENCODINGS):
        raise Unsupported(f"output_mode {mode!r}")
    bins = call.int_opt("num_bins", minimum=1)
    mask = call.opt("mask_value")
    if mask is not None and not isinstance(mask, (str, int)) or isinstance(mask, bool):
        raise Unsupported(f"mask_value {str(mask)[:40]!r}: only a string or an integer is converted")
    if x.dtype == "bool":
        raise Unsupported("input dtype bool")
    return b.node(
        "Hashing",
        name=call.name,
        inputs=[x],
        config={"num_bins": bins, "mask_token": mask, "salt": _salt(call), "output_mode": mode},
        outputs=[(_encoded_shape(x.shape, mode, bins), "int64" if mode == "int" else "float32")],
        layer=call,
    )


TEXT_CONVERTERS = {
    "Hashing": convert_hashing,
    "TextVectorization": convert_text_vectorization,
    "Discretization": convert_discretization,
    "CategoryEncoding": convert_category_encoding,
    "StringLookup": convert_string_lookup,
    "IntegerLookup": convert_integer_lookup,
}
