"""``rnnconvert predict`` and ``rnnconvert.dask.predict`` on bundles with string inputs, against
live Keras on the same rows: JSON Lines strings, lists of strings, Parquet string columns, NumPy
unicode arrays; bad rows; workers; Dask arrays and DataFrames of strings."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_parity
from helpers import LazyModule
from keras_zoo import eager
from scoring_text_models import TEXTS, WORDS

from rnnconvert.cli import main

pytest_plugins = ["scoring_text_models"]  # the session fixture `text_models`
keras = LazyModule("keras")
pytestmark = pytest.mark.keras


def _predict(*argv) -> int:
    return main(["predict", *map(str, argv), "--quiet"])


def _write_jsonl(path, values, key) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for v in values:
            f.write(json.dumps({key: v}, ensure_ascii=False) + "\n")


def _word_rows(n: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    pool = [*WORDS, "unknown", "Cat", "«x»", "日本語"]  # some out of the vocabulary
    rows = [[pool[i] for i in rng.integers(0, len(pool), size=int(rng.integers(1, 9)))] for _ in range(n)]
    rows[2] = []  # an empty row: all padding
    return rows


def _pad_words(rows: list[list[str]], maxlen: int, padding: str) -> np.ndarray:
    """Keras's own pad_sequences, with "" (the lookup's mask token) as the padding value."""
    padded = keras.utils.pad_sequences(rows, maxlen=maxlen, padding=padding, dtype=object, value="")
    return padded.astype(str)


def test_jsonl_strings_match_keras_and_bad_rows_are_skipped(text_models, tmp_path):
    models, bundles = text_models
    texts = TEXTS * 4
    values: list = [*texts[:7], 42, *texts[7:], None, ["a", "list"]]
    _write_jsonl(tmp_path / "in.jsonl", values, "text")
    out = tmp_path / "out.npy"
    assert _predict(bundles["tv"], tmp_path / "in.jsonl", out, "--batch-size", 6, "--on-error", "skip") == 0
    # Keras on every good row in one call: the mask makes the per-batch token padding irrelevant.
    assert_parity(np.load(out), eager(models["tv"], np.array(texts)[:, None]), "TextVectorization, jsonl")
    with open(str(out) + ".rejects.jsonl", encoding="utf-8") as f:
        rejects = [json.loads(line) for line in f]
    assert [(r["row"], r["column"]) for r in rejects] == [(7, "text"), (41, "text"), (42, "text")]
    assert "not a string (int)" in rejects[0]["error"] and "null" in rejects[1]["error"]
    # Two worker processes: the same numbers, in order.
    out2 = tmp_path / "out2.npy"
    args = ("--batch-size", 6, "--on-error", "skip", "--workers", 2)
    assert _predict(bundles["tv"], tmp_path / "in.jsonl", out2, *args) == 0
    np.testing.assert_array_equal(np.load(out2), np.load(out))


def test_a_non_string_row_stops_the_run_naming_it(text_models, tmp_path, capsys):
    _, bundles = text_models
    _write_jsonl(tmp_path / "in.jsonl", ["fine", "also fine", 3.5], "text")
    assert _predict(bundles["tv"], tmp_path / "in.jsonl", tmp_path / "out.npy") == 1
    err = capsys.readouterr().err
    assert "row 2, column 'text': not a string (float)" in err
    assert not (tmp_path / "out.npy").exists()


def test_npy_unicode_rows_and_the_refusals(text_models, tmp_path, capsys):
    models, bundles = text_models
    texts = np.array(TEXTS)  # (B,) '<U..' for a (B, 1) input
    np.save(tmp_path / "in.npy", texts)
    assert _predict(bundles["tv"], tmp_path / "in.npy", tmp_path / "out.npz", "--batch-size", 3) == 0
    assert_parity(np.load(tmp_path / "out.npz")["score"], eager(models["tv"], texts[:, None]), "npy unicode")
    # Object arrays would need pickle: refused; numbers for a text input: refused by dtype.
    np.save(tmp_path / "obj.npy", texts.astype(object), allow_pickle=True)
    assert _predict(bundles["tv"], tmp_path / "obj.npy", tmp_path / "o.npy") == 1
    assert "object arrays are not read" in capsys.readouterr().err
    np.save(tmp_path / "num.npy", np.zeros((3, 1), np.float32))
    assert _predict(bundles["tv"], tmp_path / "num.npy", tmp_path / "o.npy") == 1
    assert "this input takes strings" in capsys.readouterr().err
    # --bucket has nothing to save on one string per row.
    assert _predict(bundles["tv"], tmp_path / "in.npy", tmp_path / "o.npy", "--bucket") == 1
    assert "no padding to save" in capsys.readouterr().err


@pytest.mark.parametrize("padding", ["pre", "post"])
def test_lists_of_strings_padded_with_empty_strings_match_keras(text_models, tmp_path, padding):
    models, bundles = text_models
    rows = _word_rows(40, seed=3)
    expected = eager(models["lookup"], _pad_words(rows, 6, padding))
    _write_jsonl(tmp_path / "in.jsonl", rows, "words")
    out = tmp_path / "out.npy"
    opts = ("--maxlen", 6, "--padding", padding, "--batch-size", 16)
    assert _predict(bundles["lookup"], tmp_path / "in.jsonl", out, *opts) == 0
    assert_parity(np.load(out), expected, f"StringLookup, jsonl, {padding}")
    # The same rows already padded, as a (B, 6) unicode array in an .npz keyed by input name.
    np.savez(tmp_path / "in.npz", words=_pad_words(rows, 6, padding))
    assert _predict(bundles["lookup"], tmp_path / "in.npz", out, "--padding", padding) == 0
    assert_parity(np.load(out), expected, f"StringLookup, npz, {padding}")


def test_parquet_string_list_columns(text_models, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    models, bundles = text_models
    rows = _word_rows(50, seed=4)
    pq.write_table(
        pa.table({"words": pa.array(rows, pa.list_(pa.string()))}), tmp_path / "w.parquet", row_group_size=20
    )
    assert _predict(bundles["lookup"], tmp_path / "w.parquet", tmp_path / "w.npy", "--maxlen", 8) == 0
    assert_parity(np.load(tmp_path / "w.npy"), eager(models["lookup"], _pad_words(rows, 8, "pre")), "parquet lists")
    # One string per row, as a plain Parquet string column.
    pq.write_table(pa.table({"text": pa.array(TEXTS, pa.string())}), tmp_path / "t.parquet")
    assert _predict(bundles["tv"], tmp_path / "t.parquet", tmp_path / "t.parquet.out.jsonl") == 0
    with open(tmp_path / "t.parquet.out.jsonl", encoding="utf-8") as f:
        ours = np.array([json.loads(line)["score"] for line in f], np.float32)
    assert_parity(ours, eager(models["tv"], np.array(TEXTS)[:, None]), "parquet strings")
    # A binary column of UTF-8 text reads the same.
    pq.write_table(pa.table({"text": pa.array([t.encode() for t in TEXTS], pa.binary())}), tmp_path / "b.parquet")
    assert _predict(bundles["tv"], tmp_path / "b.parquet", tmp_path / "b.npy") == 0
    assert_parity(np.load(tmp_path / "b.npy"), ours, "parquet binary")


def test_dask_array_and_dataframe_of_strings(text_models):
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    from rnnconvert.dask import predict

    models, bundles = text_models
    texts = np.array(TEXTS * 3)
    expected = eager(models["tv"], texts[:, None])
    with dask.config.set(scheduler="synchronous"):  # the data path; test_dask.py covers the cluster
        y = predict(bundles["tv"], da.from_array(texts[:, None], chunks=(7, 1)))
        assert_parity(y.compute(), expected, "dask array of strings")
        frame = dd.from_pandas(pd.DataFrame({"text": texts}), npartitions=3)
        got = predict(bundles["tv"], frame).compute()
    assert_parity(np.stack(got["score"].to_list()).astype(np.float32), expected, "dask DataFrame string column")


def test_unmasked_text_vectorization_is_noted_and_batch_size_1_scores_rows_alone(text_models, tmp_path, capsys):
    from rnnconvert.converter import convert

    text_models  # noqa: B018 -- Keras is imported and seeded by the session fixture
    L = keras.layers
    tv = L.TextVectorization(max_tokens=60, output_mode="int")
    tv.adapt(TEXTS)
    text = keras.Input((1,), dtype="string", name="text")
    x = L.SimpleRNN(4)(L.Embedding(60, 3)(tv(text)))  # no mask: the batch's token padding counts
    model = keras.Model(text, L.Dense(1, name="y")(x))
    model.save(tmp_path / "plain.keras")
    convert(tmp_path / "plain.keras", tmp_path / "plain")
    texts = [t for t in TEXTS if t]  # alone, an empty text has no tokens: Keras's RNN refuses it
    np.save(tmp_path / "in.npy", np.array(texts))
    assert main(["predict", str(tmp_path / "plain"), str(tmp_path / "in.npy"), str(tmp_path / "a.npy")]) == 0
    assert "note: TextVectorization ['text_vectorization" in capsys.readouterr().err
    assert _predict(tmp_path / "plain", tmp_path / "in.npy", tmp_path / "b.npy", "--batch-size", 1) == 0
    alone = np.concatenate([eager(model, np.array([[t]])) for t in texts])  # Keras, one row per call
    assert_parity(np.load(tmp_path / "b.npy"), alone, "unmasked TextVectorization, one row per call")


@pytest.mark.parametrize("padding", ["pre", "post"])
def test_bucket_on_a_masked_lookup_gives_the_numbers_of_full_padding(text_models, tmp_path, padding):
    models, bundles = text_models
    rows = _word_rows(120, seed=5)
    longest = max(len(r) for r in rows)
    _write_jsonl(tmp_path / "in.jsonl", rows, "words")
    full, bucketed = tmp_path / "full.npy", tmp_path / "bucketed.npy"
    common = ("--padding", padding, "--batch-size", 8)
    assert _predict(bundles["lookup"], tmp_path / "in.jsonl", full, "--maxlen", longest, *common) == 0
    assert _predict(bundles["lookup"], tmp_path / "in.jsonl", bucketed, "--bucket", *common) == 0
    np.testing.assert_array_equal(np.load(bucketed), np.load(full))
    assert_parity(np.load(bucketed), eager(models["lookup"], _pad_words(rows, longest, padding)), "bucketed lookup")


def test_utf8_bytes_columns_are_read_as_text(text_models, tmp_path, capsys):
    models, bundles = text_models
    np.save(tmp_path / "in.npy", np.array([t.encode("utf-8") for t in TEXTS]))  # dtype S
    assert _predict(bundles["tv"], tmp_path / "in.npy", tmp_path / "out.npy") == 0
    assert_parity(np.load(tmp_path / "out.npy"), eager(models["tv"], np.array(TEXTS)[:, None]), "npy bytes")
    np.save(tmp_path / "bad.npy", np.array([b"ok", b"\xff\xfe"]))
    assert _predict(bundles["tv"], tmp_path / "bad.npy", tmp_path / "out.npy") == 1
    assert "holds bytes that are not UTF-8" in capsys.readouterr().err
