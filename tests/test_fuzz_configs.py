"""Seeded config-mutation fuzzing of the converter's graph walk.

The architecture JSON of real models (Keras 1 and Keras 2 files in tests/data, and Keras 3
and tf_keras models built live) is mutated -- a value replaced by one of the wrong type,
non-finite, negative, huge, nested 100,000 deep, a lone surrogate or superscript digits; a
key deleted; an object turned into a list -- and converted with the file's own weights.
Each case must convert or raise the project's own error: never another exception.

``RNNCONVERT_FUZZ_SCALE`` multiplies the number of cases (default 1: well under a minute).
"""

from __future__ import annotations

import copy
import os
import random
import traceback
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import copy_doc

from rnnconvert.converter import build_document
from rnnconvert.converter.readers import KerasSource, read_source
from rnnconvert.errors import RnnConvertError

LEGACY = Path(__file__).parent / "data" / "legacy"
LEGACY_FILES = [
    "k1_dl4j_embedding_lstm/embedding_lstm_tensorflow_1.h5",  # Keras 1, Sequential
    "k1_dl4j_bidirectional_lstm/bidirectional_lstm_tensorflow_1.h5",  # Keras 1 wrapper
    "k2_dl4j_functional_lstm_keras208/lstm_functional_tf_keras_2.h5",  # Keras 2.0.8 functional
    "k2_dl4j_masking_lstm_keras220/masking_zero_lstm.h5",  # Keras 2.2 masking
    "tfk_dl4j_bilstm_repeatvector/rnn_31.h5",  # tf.keras
]
SCALE = float(os.environ.get("RNNCONVERT_FUZZ_SCALE", "1"))


def _deep() -> Any:
    value: Any = 0
    for _ in range(100_000):
        value = [value]
    return value


ODD_VALUES: list[Any] = [
    None,
    True,
    "abc",
    "",
    "\ud800",  # a lone surrogate
    "x\ud800y",
    "²³",
    -1,
    0,
    2**70,
    1e308,
    float("nan"),
    float("inf"),
    -0.5,
    [],
    [[]],
    {},
    [None],
    [1, "a", None],
    {"class_name": "__keras_tensor__", "config": {"keras_history": ["x", "0", 0]}},
    {"class_name": "Lambda", "config": {}},
    5,
]
ODD_VERSIONS = [None, "", "²", "2.²", "3.\ud800", "1.0.³", "9", "x", "-1", "2"]


def _paths(obj: Any) -> list[tuple[Any, ...]]:
    """Every location in a JSON value, as key/index paths (iteratively)."""
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), obj)]
    while stack:
        path, o = stack.pop()
        items = o.items() if isinstance(o, dict) else enumerate(o) if isinstance(o, list) else ()
        for k, v in items:
            out.append((*path, k))
            if len(path) < 40:  # not into a value the fuzzer nested 100,000 deep
                stack.append(((*path, k), v))
    return out


def _get(obj: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        obj = obj[k]
    return obj


def _mutate(cfg: Any, rng: random.Random) -> str:
    path = rng.choice(_paths(cfg))
    parent, key = _get(cfg, path[:-1]), path[-1]
    kind = rng.randrange(6)
    if kind == 0 and isinstance(parent, dict):
        del parent[key]
        return f"del {path}"
    if kind == 1:
        parent[key] = [parent[key]]
        return f"wrap {path}"
    if kind == 2 and isinstance(parent[key], dict):
        parent[key] = list(parent[key].values())
        return f"dict->list {path}"
    if kind == 3:
        parent[key] = _deep()
        return f"deep {path}"
    value = rng.choice(ODD_VALUES)
    parent[key] = copy.deepcopy(value)
    return f"{path} = {value!r}"


def _fuzz(source: KerasSource, n: int, seed: int) -> None:
    rng = random.Random(seed)
    failures = []
    for case in range(n):
        cfg = copy_doc(source.config)
        what = [_mutate(cfg, rng) for _ in range(rng.randint(1, 3))]
        version = source.keras_version if rng.random() < 0.8 else rng.choice(ODD_VERSIONS)
        mutated = replace(source, config=cfg, keras_version=version, notes=[])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                build_document(mutated)
        except RnnConvertError:
            pass
        except Exception as exc:  # noqa: BLE001 -- what the fuzzer is looking for
            where = traceback.extract_tb(exc.__traceback__)[-1]
            failures.append(
                f"case {case} ({'; '.join(what)}; version {version!r}): {type(exc).__name__}: {exc!s:.120}"
                f" at {Path(where.filename).name}:{where.lineno}"
            )
    assert not failures, f"{len(failures)} of {n} mutations escaped as non-project errors:\n" + "\n".join(failures[:15])


@pytest.mark.parametrize("name", LEGACY_FILES)
def test_fuzz_legacy_file_configs(name):
    source = read_source(LEGACY / name)
    _fuzz(source, int(100 * SCALE), seed=len(name))


@pytest.mark.keras
@pytest.mark.parametrize(
    "case, era",
    [
        ("masks_through_merges", "keras3"),
        ("nested_models_deep_and_masked", "keras3"),
        ("masks_through_merges", "tf_keras"),
        ("bidirectional_initial_state_and_backward_layer", "tf_keras"),
        # a case of each format 1.3.0 topic (tests/cases_{conv,pool,resize,attn,norm,text,tfop}.py)
        ("conv_transpose_options", "keras3"),
        ("conv3d_options", "tf_keras"),
        ("adaptive_pooling_1d_2d_3d", "keras3"),
        ("pool3d_padding_cropping_upsampling", "tf_keras"),
        ("resizing_every_interpolation", "keras3"),
        ("upsampling2d_centercrop_rescaling", "tf_keras"),
        ("attn_einsum_dense", "keras3"),
        ("attn_gqa", "keras3"),
        ("attn_mha_padding", "tf_keras"),
        ("norm_layers", "keras3"),
        ("ops_activations", "keras3"),
        ("text_lookups", "keras3"),
        ("text_vectorization", "tf_keras"),
        ("text_hashing", "keras3"),
        ("tfop_tensor_ops", "keras3"),
        ("tfop_tensor_ops", "tf_keras"),
    ],
)
def test_fuzz_live_model_configs(case, era, zoo):
    # The zoo's file of the case in its era's main format (built once per session, or cached):
    # only its config is fuzzed.
    source = read_source(zoo.get(case, era).files["keras" if era == "keras3" else "h5"][0])
    _fuzz(source, int(80 * SCALE), seed=len(case) + len(era))
