"""``rnnconvert predict``: files in, files out, against live Keras predictions; bucketing and
worker processes against our own single-process, fully padded run; bad rows; atomic output."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
from conftest import assert_parity
from helpers import LazyModule
from keras_zoo import eager  # the eager call: predict is not the subject here
from scoring_models import VOCAB

from rnnconvert.cli import main
from rnnconvert.runtime import load, pad_sequences
from rnnconvert.scoring import Options, score_file
from rnnconvert.scoring import writers as writers_mod
from rnnconvert.scoring.padding import analyse

pytest_plugins = ["scoring_models"]  # the session fixture `models`
keras = LazyModule("keras")  # imported by the first test that uses it
pytestmark = pytest.mark.keras


def _token_rows(n: int, seed: int = 0, longest: int = 25) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    rows = [rng.integers(1, VOCAB, size=int(rng.integers(1, longest))).tolist() for _ in range(n)]
    rows[3] = []  # an empty row: all padding
    return rows


def _write_jsonl(path, rows, key="tokens") -> None:
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps({key: r}) + "\n")


def _predict(*argv) -> int:
    return main(["predict", *map(str, argv), "--quiet"])


def _leftovers(directory) -> list[str]:
    return [p for p in os.listdir(directory) if "rnnconvert-tmp" in p]


def test_jsonl_ragged_text_matches_keras(models, tmp_path):
    keras_models, bundles = models
    rows = _token_rows(300)
    _write_jsonl(tmp_path / "in.jsonl", rows)
    assert _predict(bundles["text"], tmp_path / "in.jsonl", tmp_path / "out.npy", "--batch-size", 32) == 0
    ours = np.load(tmp_path / "out.npy")
    # Keras on the whole set padded once to its longest row (pad_sequences' default).
    theirs = eager(keras_models["text"], keras.utils.pad_sequences(rows))
    assert_parity(ours, theirs, "text model, jsonl")


@pytest.mark.parametrize("padding", ["pre", "post"])
def test_bucket_gives_the_numbers_of_full_padding_in_input_order(models, tmp_path, padding):
    keras_models, bundles = models
    rows = _token_rows(700, seed=1, longest=40)
    full = pad_sequences(rows, padding=padding)
    np.save(tmp_path / "in.npy", full)
    out = tmp_path / "out.npy"
    assert (
        _predict(bundles["text"], tmp_path / "in.npy", out, "--bucket", "--padding", padding, "--batch-size", 16) == 0
    )
    bucketed = np.load(out)
    reference = load(bundles["text"]).predict(full)  # one call on the fully padded rows
    np.testing.assert_array_equal(bucketed, reference)
    assert_parity(bucketed, eager(keras_models["text"], full), f"bucketed, {padding}")
    # ... and the same from ragged JSON Lines rows.
    _write_jsonl(tmp_path / "in.jsonl", rows)
    assert (
        _predict(bundles["text"], tmp_path / "in.jsonl", out, "--bucket", "--padding", padding, "--batch-size", 16) == 0
    )
    np.testing.assert_array_equal(np.load(out), reference)


def test_workers_give_identical_results_in_order(models, tmp_path):
    _, bundles = models
    x = np.random.default_rng(2).normal(size=(900, 11, 4)).astype(np.float32)
    np.save(tmp_path / "in.npy", x)
    assert _predict(bundles["frames"], tmp_path / "in.npy", tmp_path / "one.npy", "--batch-size", 50) == 0
    assert (
        _predict(bundles["frames"], tmp_path / "in.npy", tmp_path / "two.npy", "--batch-size", 50, "--workers", 2) == 0
    )
    np.testing.assert_array_equal(np.load(tmp_path / "two.npy"), np.load(tmp_path / "one.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "one.npy"), load(bundles["frames"]).predict(x))


def test_npy_frames_match_keras(models, tmp_path):
    keras_models, bundles = models
    x = np.random.default_rng(3).normal(size=(130, 9, 4)).astype(np.float32)
    np.save(tmp_path / "in.npy", x)
    assert _predict(bundles["frames"], tmp_path / "in.npy", tmp_path / "out.jsonl", "--batch-size", 64) == 0
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    ours = np.array([json.loads(line)["y"] for line in lines], np.float32)
    assert_parity(ours, eager(keras_models["frames"], x), "frames, npy -> jsonl")


def test_multi_input_npz_keyed_by_names_matches_keras(models, tmp_path):
    keras_models, bundles = models
    rows = _token_rows(150, seed=4)
    tokens = pad_sequences(rows, padding="post")
    feats = np.random.default_rng(4).normal(size=(150, 3)).astype(np.float32)
    np.savez(tmp_path / "in.npz", tokens=tokens, feats=feats)
    assert _predict(bundles["multi"], tmp_path / "in.npz", tmp_path / "out.npz", "--padding", "post") == 0
    with np.load(tmp_path / "out.npz") as z:
        ours = [z["a"], z["b"]]
    theirs = eager(keras_models["multi"], {"tokens": tokens, "feats": feats})
    assert_parity(ours, list(theirs), "multi-input npz")


def test_parquet_list_columns_in_and_out(models, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    keras_models, bundles = models
    rows = _token_rows(260, seed=5)
    pq.write_table(
        pa.table({"tokens": pa.array(rows, pa.list_(pa.int32()))}), tmp_path / "in.parquet", row_group_size=70
    )
    assert _predict(bundles["text"], tmp_path / "in.parquet", tmp_path / "out.parquet", "--batch-size", 40) == 0
    table = pq.read_table(tmp_path / "out.parquet")
    ours = np.array(table.column("probs").to_pylist(), np.float32)
    assert_parity(ours, eager(keras_models["text"], keras.utils.pad_sequences(rows)), "parquet")


def test_bucket_refused_when_padding_changes_the_numbers(models, tmp_path, capsys):
    _, bundles = models
    np.save(tmp_path / "in.npy", np.zeros((4, 5, 4), np.float32))
    assert _predict(bundles["frames"], tmp_path / "in.npy", tmp_path / "out.npy", "--bucket") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnnconvert: error: --bucket") and "depends on the padding" in err and "\n" not in err
    assert not (tmp_path / "out.npy").exists()


def test_ragged_rows_of_an_unmasked_model_need_maxlen(models, tmp_path, capsys):
    keras_models, bundles = models
    rng = np.random.default_rng(6)
    rows = [rng.normal(size=(int(rng.integers(1, 12)), 4)).round(3).tolist() for _ in range(40)]
    _write_jsonl(tmp_path / "in.jsonl", rows, key="frames")
    assert _predict(bundles["frames"], tmp_path / "in.jsonl", tmp_path / "out.npy") == 1
    assert "--maxlen" in capsys.readouterr().err
    opts = ["--maxlen", 8, "--padding", "post", "--truncating", "post", "--value", -1]
    assert _predict(bundles["frames"], tmp_path / "in.jsonl", tmp_path / "out.npy", *opts) == 0
    x = keras.utils.pad_sequences(rows, maxlen=8, dtype="float32", padding="post", truncating="post", value=-1)
    assert_parity(np.load(tmp_path / "out.npy"), eager(keras_models["frames"], x), "maxlen")


def _bad_rows_file(path) -> list:
    rows = _token_rows(40, seed=8)
    lines = [json.dumps({"tokens": r}) for r in rows]
    lines[7] = json.dumps({"tokens": [3, 99, 4]})  # id out of range
    lines[12] = json.dumps({"tokens": ["a", "b"]})  # not numbers
    lines[20] = '{"tokens": [1, 2'  # not JSON
    lines[25] = json.dumps({"other": [1]})  # no column
    path.write_text("\n".join(lines) + "\n")
    return rows


def test_a_bad_row_stops_the_run_naming_row_and_column(models, tmp_path, capsys):
    _, bundles = models
    _bad_rows_file(tmp_path / "in.jsonl")
    (tmp_path / "out.npy").write_bytes(b"previous output")
    assert _predict(bundles["text"], tmp_path / "in.jsonl", tmp_path / "out.npy", "--batch-size", 8) == 1
    err = capsys.readouterr().err.strip()
    assert "row 7, column 'tokens'" in err and "99" in err and "out of range" in err and "\n" not in err
    assert (tmp_path / "out.npy").read_bytes() == b"previous output"  # untouched
    assert _leftovers(tmp_path) == []


def test_on_error_skip_writes_rejects_and_scores_the_rest(models, tmp_path):
    keras_models, bundles = models
    rows = _bad_rows_file(tmp_path / "in.jsonl")
    out = tmp_path / "out.npy"
    assert _predict(bundles["text"], tmp_path / "in.jsonl", out, "--batch-size", 8, "--on-error", "skip") == 0
    rejects = [json.loads(line) for line in open(str(out) + ".rejects.jsonl")]
    assert [(r["row"], r["column"]) for r in rejects] == [(7, "tokens"), (12, "tokens"), (20, None), (25, "tokens")]
    assert "not valid JSON" in rejects[2]["error"] and "no key" in rejects[3]["error"]
    good = [r for k, r in enumerate(rows) if k not in (7, 12, 20, 25)]
    theirs = eager(keras_models["text"], keras.utils.pad_sequences(good))
    assert_parity(np.load(out), theirs, "good rows")


@pytest.mark.parametrize("fmt", ["npy", "npz", "jsonl", "parquet"])
def test_a_failure_midway_leaves_no_partial_output(models, tmp_path, monkeypatch, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    _, bundles = models
    np.save(tmp_path / "in.npy", pad_sequences(_token_rows(100, seed=9)))
    calls = []
    cls = writers_mod.WRITERS[fmt]
    original = cls.write

    def write_then_interrupt(self, outputs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C after two batches were written
        original(self, outputs)

    monkeypatch.setattr(cls, "write", write_then_interrupt)
    out = tmp_path / f"out.{fmt}"
    with pytest.raises(KeyboardInterrupt):
        score_file(bundles["text"], str(tmp_path / "in.npy"), str(out), Options(batch_size=10, progress=False))
    assert not out.exists() and _leftovers(tmp_path) == []
    calls.clear()  # the CLI: the same interruption is exit 130, nothing written
    assert main(["predict", bundles["text"], str(tmp_path / "in.npy"), str(out), "--batch-size", "10"]) == 130
    assert not out.exists() and _leftovers(tmp_path) == []


def test_a_missing_extra_is_one_line_naming_pip(models, tmp_path, monkeypatch, capsys):
    _, bundles = models
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    (tmp_path / "in.parquet").write_bytes(b"PAR1")
    assert _predict(bundles["text"], tmp_path / "in.parquet", tmp_path / "out.npy") == 1
    err = capsys.readouterr().err.strip()
    assert "pip install 'rnnconvert[parquet]'" in err and "\n" not in err


def test_progress_bar_counts_rows(models, tmp_path, capsys):
    pytest.importorskip("tqdm")
    _, bundles = models
    np.save(tmp_path / "in.npy", pad_sequences(_token_rows(60, seed=10)))
    assert main(["predict", bundles["text"], str(tmp_path / "in.npy"), str(tmp_path / "o.npy"), "--progress"]) == 0
    err = capsys.readouterr().err
    assert "100%" in err and "60.0/60.0" in err and "row/s" in err and "wrote" in err


def test_padding_analysis_follows_masks(models):
    _, bundles = models
    text = load(bundles["text"]).doc
    assert analyse(text, 0.0).ok
    assert not analyse(text, 1.0).ok  # padding with 1 is not what mask_zero masks
    unmasked = json.loads(json.dumps(text))
    for node in unmasked["nodes"]:
        node.pop("mask", None)
    assert "depends on the padding" in analyse(unmasked, 0.0).reason
    assert not analyse(load(bundles["frames"]).doc, 0.0).ok
    assert analyse(load(bundles["multi"]).doc, 0.0).ok


@pytest.mark.parametrize("compressed", [False, True])
def test_memory_stays_bounded_by_the_batch_not_the_file(models, tmp_path, compressed):
    import tracemalloc

    _, bundles = models
    x = np.random.default_rng(11).normal(size=(24_000, 40, 4)).astype(np.float32)  # 15 MiB
    (np.savez_compressed if compressed else np.savez)(tmp_path / "in.npz", frames=x)
    expected = load(bundles["frames"]).predict(x[:500])
    del x
    tracemalloc.start()
    try:
        score_file(bundles["frames"], str(tmp_path / "in.npz"), str(tmp_path / "out.npz"), Options(progress=False))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20, f"peak {peak / 2**20:.1f} MiB for a 15 MiB input"  # a few batches, not the file
    with np.load(tmp_path / "out.npz") as z:
        assert z["y"].shape == (24_000, 2)
        np.testing.assert_array_equal(z["y"][:500], expected)


def test_empty_input_and_format_mismatches(models, tmp_path, capsys):
    _, bundles = models
    np.save(tmp_path / "empty.npy", np.zeros((0, 5), np.int32))
    assert _predict(bundles["text"], tmp_path / "empty.npy", tmp_path / "out.npy") == 0
    assert np.load(tmp_path / "out.npy").shape == (0, 3)
    np.savez(tmp_path / "in.npz", tokens=np.ones((2, 3), np.int32), feats=np.ones((2, 3), np.float32))
    assert _predict(bundles["multi"], tmp_path / "in.npz", tmp_path / "out.npy") == 1
    assert "use .npz" in capsys.readouterr().err
    np.savez(tmp_path / "bad.npz", tokens=np.ones((2, 3), np.int32))
    assert _predict(bundles["multi"], tmp_path / "bad.npz", tmp_path / "out.npz") == 1
    assert "no column for input(s) ['feats']" in capsys.readouterr().err
    assert _predict(bundles["text"], tmp_path / "empty.npy", tmp_path / "empty.npy") == 1
    assert "OUTPUT must differ from INPUT" in capsys.readouterr().err
    assert _leftovers(tmp_path) == []


def test_a_worker_that_cannot_load_the_bundle_reports_it(tmp_path, monkeypatch):
    """A failing pool initializer would make multiprocessing restart workers forever: the error
    is kept and raised by the worker's first batch, which the parent receives."""
    from rnnconvert.errors import RnnConvertError
    from rnnconvert.scoring import workers

    monkeypatch.setattr(workers, "_MODEL", None)
    monkeypatch.setattr(workers, "_INIT_ERROR", None)
    workers._init(str(tmp_path / "no-bundle"), {})
    with pytest.raises(RnnConvertError):
        workers._predict([np.zeros((1, 3), np.int64)])
