"""rnnconvert.dask on a real distributed.LocalCluster with two worker processes: the numbers of a
single-process predict, the bundle loaded once per worker, and ``--dask-scheduler``."""

from __future__ import annotations

import os

import numpy as np
import pytest
from scoring_models import VOCAB
from scoring_text_models import TEXTS

from rnnconvert.cli import main
from rnnconvert.runtime import load, pad_sequences
from rnnconvert.scoring import Options, score_file

pytest_plugins = ["scoring_models", "scoring_text_models"]  # the session fixtures `models`, `text_models`
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytestmark = pytest.mark.keras  # the bundles come from Keras models built in the session


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    with cluster, distributed.Client(cluster) as c:
        yield c


def _tokens(n: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [rng.integers(1, VOCAB, size=int(rng.integers(1, 30))).tolist() for _ in range(n)]


def test_dask_array_equals_single_process_predict(models, client):
    from rnnconvert.dask import predict

    _, bundles = models
    x = pad_sequences(_tokens(600, 0))
    y = predict(bundles["text"], da.from_array(x, chunks=(150, 7)))  # time axis split too: merged
    assert y.chunks[0] == (150,) * 4
    np.testing.assert_array_equal(y.compute(), load(bundles["text"]).predict(x))


def test_from_npy_reads_blocks_on_the_workers_by_path(models, client, tmp_path):
    """``from_npy``: the blocks are read from the file by the workers -- the task graph holds
    the path, not the data (``da.from_array`` of a memory map pickles all of it) -- and the
    scores equal a single-process predict on the whole array."""
    import pickle

    from rnnconvert.dask import from_npy, predict

    _, bundles = models
    x = pad_sequences(_tokens(700, 2))
    np.save(tmp_path / "x.npy", x)
    arr = from_npy(tmp_path / "x.npy", chunk_rows=200)
    assert arr.shape == x.shape and arr.dtype == x.dtype and arr.chunks[0] == (200, 200, 200, 100)
    graph = pickle.dumps(dict(arr.__dask_graph__()))
    assert len(graph) < x.nbytes // 4, f"{len(graph)} bytes of graph for {x.nbytes} bytes of data"
    np.testing.assert_array_equal(arr.compute(), x)
    np.testing.assert_array_equal(predict(bundles["text"], arr).compute(), load(bundles["text"]).predict(x))


def test_from_npy_refuses_what_it_cannot_read_by_rows(tmp_path):
    from rnnconvert.dask import from_npy
    from rnnconvert.errors import FormatError, InputError

    np.save(tmp_path / "f.npy", np.asfortranarray(np.ones((4, 3), np.float32)))
    with pytest.raises(InputError, match="Fortran"):
        from_npy(tmp_path / "f.npy")
    np.save(tmp_path / "t.npy", np.ones((40, 3), np.float32))
    (tmp_path / "t.npy").write_bytes((tmp_path / "t.npy").read_bytes()[:-8])
    with pytest.raises(FormatError, match="shorter"):
        from_npy(tmp_path / "t.npy")
    with pytest.raises(InputError, match="chunk_rows"):
        from_npy(tmp_path / "t.npy", chunk_rows=0)


def test_list_of_arrays_gives_a_list_of_outputs(models, client):
    from rnnconvert.dask import predict

    _, bundles = models
    tokens = pad_sequences(_tokens(300, 1), padding="post")
    feats = np.random.default_rng(1).normal(size=(300, 3)).astype(np.float32)
    ys = predict(bundles["multi"], [da.from_array(tokens, chunks=100), da.from_array(feats, chunks=100)])
    expected = load(bundles["multi"]).predict([tokens, feats])
    for got, want in zip(ys, expected):
        np.testing.assert_array_equal(got.compute(), want)


def test_dataframe_of_ragged_rows_loads_the_bundle_once_per_worker(models, client, tmp_path):
    from rnnconvert.dask import LOADS, predict

    _, bundles = models
    rows = _tokens(400, 2)
    pq.write_table(pa.table({"tokens": rows}), tmp_path / "in.parquet", row_group_size=50)
    ddf = dd.read_parquet(tmp_path / "in.parquet", split_row_groups=True)
    assert ddf.npartitions == 8
    out = predict(bundles["text"], ddf).compute()
    score_file(bundles["text"], str(tmp_path / "in.parquet"), str(tmp_path / "ref.npy"), Options(progress=False))
    np.testing.assert_array_equal(np.stack(out["probs"].to_list()), np.load(tmp_path / "ref.npy"))
    key = os.path.abspath(bundles["text"])
    loads = client.run(lambda: LOADS.get(key, 0))  # each worker process: once, whatever its task count
    assert sorted(loads.values()) in ([1, 1], [0, 1]) and sum(loads.values()) >= 1


def test_cli_dask_scheduler_writes_parquet_partitions(models, client, tmp_path):
    _, bundles = models
    rows = _tokens(250, 3)
    pq.write_table(pa.table({"tokens": rows}), tmp_path / "in.parquet", row_group_size=60)
    address = client.scheduler.address
    out = tmp_path / "scored"
    assert main(["predict", bundles["text"], str(tmp_path / "in.parquet"), str(out), "--dask-scheduler", address]) == 0
    table = pq.read_table(out)
    ours = np.array(table.column("probs").to_pylist(), np.float32)
    np.testing.assert_array_equal(ours, load(bundles["text"]).predict(pad_sequences(rows)))
    assert not [p for p in os.listdir(tmp_path) if "rnnconvert-tmp" in p]


def test_strings_on_the_cluster_array_dataframe_and_cli(text_models, client, tmp_path):
    """Text bundles: a Dask array of NumPy unicode strings, a DataFrame string column, and
    --dask-scheduler on a Parquet string column, each equal to a single-process predict."""
    from rnnconvert.dask import predict

    _, bundles = text_models
    texts = np.array(TEXTS * 5)
    reference = load(bundles["tv"]).predict(texts[:, None])  # masked: the batching does not matter
    y = predict(bundles["tv"], da.from_array(texts[:, None], chunks=(12, 1)))
    np.testing.assert_allclose(y.compute(), reference, rtol=1e-6, atol=1e-6)
    pq.write_table(pa.table({"text": pa.array(texts, pa.string())}), tmp_path / "t.parquet", row_group_size=15)
    out = predict(bundles["tv"], dd.read_parquet(tmp_path / "t.parquet", split_row_groups=True)).compute()
    np.testing.assert_allclose(np.stack(out["score"].to_list()), reference, rtol=1e-6, atol=1e-6)
    argv = ["predict", bundles["tv"], str(tmp_path / "t.parquet"), str(tmp_path / "scored")]
    assert main([*argv, "--dask-scheduler", client.scheduler.address, "--quiet"]) == 0
    scored = np.array(pq.read_table(tmp_path / "scored").column("score").to_pylist(), np.float32)
    np.testing.assert_allclose(scored, reference, rtol=1e-6, atol=1e-6)
