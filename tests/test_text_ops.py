"""The preprocessing ops without Keras (expected values worked out by hand from FORMAT.md
5.46-5.49), their load-time refusals, string inputs, and -- with Keras -- vocabularies read
from a .keras file's assets and the layers and options refused by name."""

from __future__ import annotations

import numpy as np
import pytest

from rnnconvert.errors import FormatError, InputError
from rnnconvert.runtime.inputs import decode_strings, encode_strings
from rnnconvert.runtime.model import Model
from rnnconvert.runtime.ops import OPS
from rnnconvert.runtime.ops.text_vectorization import tokenize
from rnnconvert.runtime.spec import check_node


def test_discretization_counts_boundaries_at_or_below():
    (y,) = OPS["Discretization"](np.array([[-5, -1, 0, 0.4, 0.5, 9]], np.float32), bin_boundaries=[-1.0, 0.0, 0.5])
    assert y.tolist() == [[0, 1, 2, 2, 3, 3]]


def test_category_encoding_modes_and_range():
    ids = np.array([[1, 1, 3], [0, 2, 2]])
    (c,) = OPS["CategoryEncoding"](ids, num_tokens=4, output_mode="count")
    assert c.tolist() == [[0, 2, 0, 1], [1, 0, 2, 0]]
    (m,) = OPS["CategoryEncoding"](ids, num_tokens=4, output_mode="multi_hot")
    assert m.tolist() == [[0, 1, 0, 1], [1, 0, 1, 0]]
    (o,) = OPS["CategoryEncoding"](np.array([[2], [0]]), num_tokens=3, output_mode="one_hot")
    assert o.tolist() == [[0, 0, 1], [1, 0, 0]]
    with pytest.raises(InputError, match="out of range"):
        OPS["CategoryEncoding"](np.array([[4]]), num_tokens=4, output_mode="count")


LOOKUP = {"key_dtype": "string", "vocabulary": ["a", "b", "c"], "num_oov_indices": 1, "depth": 5}
OOV = {"oov_method": "farmhash", "salt": None}


def test_string_lookup_indices_mask_and_oov():
    x = np.array([["a", "", "zz", "c"]])
    (y,) = OPS["Lookup"](x, **LOOKUP, **OOV, mask_token="", output_mode="int")
    assert y.tolist() == [[2, 0, 1, 4]]  # mask 0, OOV 1, vocabulary from 2
    (y,) = OPS["Lookup"](x, **{**LOOKUP, "depth": 4}, **OOV, mask_token="", output_mode="count")
    assert y.tolist() == [[1, 1, 0, 1]]  # no mask index: zz at OOV 0, a at 1, c at 3, "" left out


def test_integer_lookup_floormod_buckets():
    cfg = {"key_dtype": "int64", "vocabulary": [10, 20], "mask_token": None, "num_oov_indices": 3, "depth": 5}
    cfg.update(oov_method="floormod", salt=None)
    (y,) = OPS["Lookup"](np.array([[10, 20, 7, -1, 5]]), **cfg, output_mode="int")
    assert y.tolist() == [[3, 4, 1, 2, 2]]  # 7 % 3 = 1, -1 floormod 3 = 2, 5 % 3 = 2
    with pytest.raises(InputError, match="num_oov_indices is 0"):
        OPS["Lookup"](np.array([[7]]), **{**cfg, "num_oov_indices": 0}, output_mode="int")


def test_tokenisation_is_tensorflows():
    x = np.array(["ÜNÏ AbC ΟΔΟΣ", "it's a-b_c. ¡x! «y»", "a\u00a0b\u3000c\td\x0be\x0cf\rg\nh\x1ci", ""])
    rows = tokenize(x, "lower_and_strip_punctuation", "whitespace", None)
    assert rows[0] == ["ÜnÏ", "abc", "ΟΔΟΣ"]  # ASCII-only lowercasing
    assert rows[1] == ["its", "abc", "¡x", "«y»"]  # only the 32 ASCII punctuation characters
    assert rows[2] == ["a\u00a0b\u3000c", "d", "e", "f", "g", "h\x1ci"]  # only ASCII whitespace splits
    assert rows[3] == []
    assert tokenize(np.array(["a👍é"]), None, "character", None) == [["a", "👍", "é"]]
    assert tokenize(np.array(["a b c"]), None, "whitespace", [1, 2, 3]) == [["a", "b", "c", "a b", "b c", "a b c"]]


def test_text_vectorization_pads_and_encodes():
    cfg = {"standardize": "lower", "split": "whitespace", "ngrams": None, "vocabulary": ["x", "y"], "depth": 3}
    x = np.array([["X y q"], ["y"]])
    (ids,) = OPS["TextVectorization"](x, **cfg, output_sequence_length=None, output_mode="int")
    assert ids.tolist() == [[2, 3, 1], [3, 0, 0]]
    (ids,) = OPS["TextVectorization"](x, **cfg, output_sequence_length=2, output_mode="int")
    assert ids.tolist() == [[2, 3], [3, 0]]
    idf = np.array([0.5, 2.0, 3.0], np.float32)
    (t,) = OPS["TextVectorization"](x, **cfg, output_sequence_length=None, output_mode="tf_idf", idf_weights=idf)
    assert t.tolist() == [[0.5, 2.0, 3.0], [0.0, 0.0, 3.0]]


def test_strings_round_trip_as_code_points():
    a = np.array([["", "héllo"], ["👍 日本", "a\tb"]])
    codes = encode_strings(a)
    assert codes.dtype == np.int32 and codes.shape == (2, 2, 5)
    assert decode_strings(codes, "here").tolist() == a.tolist()
    with pytest.raises(FormatError, match="no Unicode character"):
        decode_strings(np.array([[0xD800]], np.int32), "here")
    with pytest.raises(FormatError, match="no Unicode character"):
        decode_strings(np.array([[-1, 65]], np.int32), "here")


@pytest.mark.parametrize(
    "config,why",
    [
        ({**LOOKUP, "vocabulary": ["a", "a"]}, "unique"),
        ({**LOOKUP, "vocabulary": ["a", 3]}, "every vocabulary entry"),
        ({**LOOKUP, "oov_method": "floormod"}, "farmhash"),
        ({**LOOKUP, "salt": ["1", "²"]}, "salt"),
        ({**LOOKUP, "mask_token": 3}, "mask_token"),
    ],
)
def test_lookup_refuses_bad_configs_at_load(config, why):
    config = {"mask_token": None, "output_mode": "int", "oov_method": "farmhash", "salt": None, **config}
    with pytest.raises(FormatError, match=why):
        check_node("Lookup", config, {}, "node 'l'")


def _string_model() -> Model:
    doc = {
        "format": "rnnconvert.bundle",
        "format_version": "1.3.0",
        "inputs": [{"name": "s", "shape": [None, 3], "dtype": "string"}],
        "outputs": [{"name": "l", "from": ["l", 0], "shape": [None, 3], "dtype": "int64"}],
        "nodes": [
            {
                "name": "l",
                "op": "Lookup",
                "inputs": [["s", 0]],
                "config": {**LOOKUP, **OOV, "mask_token": None, "output_mode": "int"},
                "weights": {},
                "outputs": [{"shape": [None, 3], "dtype": "int64"}],
            }
        ],
        "weights": {"file": "weights.npz", "sha256": "", "arrays": {}},
    }
    return Model.from_arrays(doc, {})


def test_runtime_takes_lists_arrays_and_utf8_bytes():
    m = _string_model()
    want = [[2.0, 0.0, 3.0]]  # no mask token: OOV 0, a b c at 1 2 3
    assert m.predict([["b", "é", "c"]]).tolist() == want  # a list of str
    assert m.predict(np.array([["b", "é", "c"]])).tolist() == want
    assert m.predict(np.array([["b", "é".encode(), b"c"]], dtype=object)).tolist() == want
    assert m.predict(np.array([[b"b", b"x", b"c"]])).dtype == np.float32
    with pytest.raises(InputError, match="expects strings"):
        m.predict(np.array([[1, 2, 3]], dtype=object))
    with pytest.raises(InputError, match="not UTF-8"):
        m.predict(np.array([[b"\xff", b"a", b"b"]], dtype=object))


@pytest.mark.keras
def test_adapted_vocabularies_come_from_keras_assets(tmp_path):
    import keras

    from rnnconvert.converter import convert
    from rnnconvert.runtime import load

    L = keras.layers
    s, i = keras.Input((4,), dtype="string"), keras.Input((3,), dtype="int64")
    sl = L.StringLookup(mask_token="")
    sl.adapt(np.array([["b", "a", "a", ""], ["c", "é", "a", "b"]]))
    il = L.IntegerLookup(output_mode="count")
    il.adapt(np.array([[5, 5, 9], [1, 2, 5]]))
    inner = keras.Sequential([L.StringLookup(output_mode="multi_hot")], name="inner")
    inner.layers[0].adapt(np.array([["x", "y", "x"]]))
    tv = L.TextVectorization(output_mode="tf_idf")
    tv.adapt(np.array(["The cat, the hat.", "A CAT naïve"]))
    t = keras.Input((1,), dtype="string")
    m = keras.Model([s, i, t], [sl(s), il(i), inner(s), tv(t)])
    m.save(tmp_path / "m.keras")
    convert(tmp_path / "m.keras", tmp_path / "b")
    x = [np.array([["a", "zz", "", "é"], ["b", "c", "x", "y"]]), np.array([[5, 1, 77], [9, 9, 2]])]
    x.append(np.array([["the HAT cat"], ["naïve dog"]]))
    for got, want in zip(load(tmp_path / "b").predict(x), m(x)):
        np.testing.assert_allclose(got, np.asarray(want), rtol=1e-6)


@pytest.mark.keras
def test_refused_by_name(tmp_path):
    import keras
    import tf_keras

    from rnnconvert.converter import convert
    from rnnconvert.errors import UnsupportedError

    L = tf_keras.layers
    s = tf_keras.Input((1,), dtype="string")
    outs = [
        L.TextVectorization(vocabulary=["a"], standardize=lambda t: t)(s),
        L.StringLookup(vocabulary=["a"], invert=True)(L.IntegerLookup(vocabulary=[1])(L.Hashing(3)(s))),
        L.StringLookup(vocabulary=["a"], invert=False, output_mode="count", sparse=True)(s),
    ]
    tf_keras.Model(s, outs).save(tmp_path / "m.h5")
    with pytest.raises(UnsupportedError) as err:
        convert(tmp_path / "m.h5", tmp_path / "b")
    text = str(err.value)
    assert "standardize: the custom callable" in text
    assert "invert: index -> token lookups" in text
    assert "sparse" in text
    # Keras 3's legacy .h5 keeps no assets: an adapted vocabulary is not in the file.
    adapted = keras.layers.StringLookup()
    adapted.adapt(np.array([["a"], ["b"]]))
    k3 = keras.Input((1,), dtype="string")
    keras.Model(k3, adapted(k3)).save(tmp_path / "k3.h5")
    with pytest.raises(UnsupportedError, match="vocabulary: the file holds none"):
        convert(tmp_path / "k3.h5", tmp_path / "b3")


def test_siphash24_reference_vector():
    # The SipHash paper's example: key 00 01 .. 0f, message 00 01 .. 0e.
    from rnnconvert.runtime.ops.hashing import siphash24

    k0 = int.from_bytes(bytes(range(8)), "little")
    k1 = int.from_bytes(bytes(range(8, 16)), "little")
    assert siphash24(k0, k1, bytes(range(15))) == 0xA129CA6149BE45E5


def _hash_corpus() -> list[str]:
    rng = np.random.default_rng(5)
    alphabet = "abcXYZ019 ,.!éü日本語👍\t"
    return ["".join(rng.choice(list(alphabet), n)) for n in [*range(0, 80), 100, 127, 128, 129, 200, 256, 300]]


@pytest.mark.keras
def test_hashes_match_tensorflow_at_every_length():
    import tensorflow as tf

    from rnnconvert.runtime.ops.hashing import hash_bucket

    texts = _hash_corpus()
    bins = 2**62 + 12345
    fast = tf.strings.to_hash_bucket_fast(texts, bins).numpy()
    strong = tf.strings.to_hash_bucket_strong(texts, bins, key=[7, -3]).numpy()
    assert [hash_bucket(t, bins, None) for t in texts] == fast.tolist()
    assert [hash_bucket(t, bins, ["7", str(2**64 - 3)]) for t in texts] == strong.tolist()


def test_js_hashes_agree_with_python(tmp_path):
    import json
    import shutil
    import subprocess
    from pathlib import Path

    from rnnconvert.runtime.ops.hashing import hash_bucket

    node = shutil.which("node")
    if node is None:
        pytest.skip("no Node.js on PATH")
    texts = _hash_corpus()
    js = Path(__file__).resolve().parent.parent / "js" / "src" / "ops" / "hashing.js"
    script = tmp_path / "h.mjs"
    script.write_text(
        f"import {{ hashBucket }} from {json.dumps(js.as_uri())};\n"
        f"const texts = {json.dumps(texts)};\n"
        "const b = 2 ** 52 + 7;\n"
        "console.log(JSON.stringify([texts.map((t) => hashBucket(t, b, null)), "
        'texts.map((t) => hashBucket(t, b, ["7", "18446744073709551613"]))]));\n'
    )
    out = subprocess.run([node, str(script)], capture_output=True, text=True, check=True, timeout=120).stdout
    fast, strong = json.loads(out)
    bins = 2**52 + 7
    assert fast == [hash_bucket(t, bins, None) for t in texts]
    assert strong == [hash_bucket(t, bins, ["7", str(2**64 - 3)]) for t in texts]
