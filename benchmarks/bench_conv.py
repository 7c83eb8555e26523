"""Benchmark the convolutional front ends of issue 14: a CRNN and an LRCN, our runtime beside
Keras ``predict``, onnxruntime (via tf2onnx, when the ``bench`` extra is installed) and the
products' floor, at batch 1 and 16.

    .venv/bin/python benchmarks/bench_conv.py            # --rounds N, --no-onnx

crnn = 32x128x1 grayscale line image -> 3 x (Conv2D 3x3 same relu + MaxPooling2D) with 32, 64, 128
       filters (pools 2x2, 2x2, 2x1) -> Permute/Reshape to 32 columns x 512 -> Bidirectional(LSTM(128))
       x 2 -> Dense(80, softmax).
lrcn = 16 frames of 64x64x3 -> TimeDistributed(Conv2D 3x3 same relu + MaxPooling2D 2) x 3 with 16, 32,
       64 filters -> TimeDistributed(Flatten) -> LSTM(64) -> Dense(10, softmax).

The floor: the model's matrix products alone at their real shapes -- each convolution as ONE
im2col product (B*H'*W', K*K*C) @ (K*K*C, F) (the patch matrix built outside the timing), the
recurrent input projections once, the recurrent products per step. It is what NumPy's BLAS
would need if nothing else cost anything.

Each contender runs in its own fresh process (as bench.py does); the table shows the median
ms per call. Ours and the floor run with BLAS's default threads and with one thread; ours, the
floor and onnxruntime run ``--repeats`` times, alternated (ours, floor, onnxruntime, ours, ...),
and each cell keeps its fastest run -- a burst of other load then costs a contender one run,
not the comparison (Keras, slow to start, runs once). On a shared, loaded machine read the
ratios, not the milliseconds: the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BATCHES = (1, 16)
SHAPES = {"crnn": (32, 128, 1), "lrcn": (16, 64, 64, 3)}


def build_models() -> dict:
    import keras

    keras.utils.set_random_seed(0)
    L = keras.layers
    crnn = keras.Sequential([keras.Input(SHAPES["crnn"])])
    for filters, pool in ((32, (2, 2)), (64, (2, 2)), (128, (2, 1))):
        crnn.add(L.Conv2D(filters, 3, padding="same", activation="relu"))
        crnn.add(L.MaxPooling2D(pool))
    crnn.add(L.Permute((2, 1, 3)))  # (32 columns, 4 rows, 128): columns are time
    crnn.add(L.Reshape((32, 4 * 128)))
    crnn.add(L.Bidirectional(L.LSTM(128, return_sequences=True)))
    crnn.add(L.Bidirectional(L.LSTM(128, return_sequences=True)))
    crnn.add(L.Dense(80, activation="softmax"))
    lrcn = keras.Sequential([keras.Input(SHAPES["lrcn"])])
    for filters in (16, 32, 64):
        lrcn.add(L.TimeDistributed(L.Conv2D(filters, 3, padding="same", activation="relu")))
        lrcn.add(L.TimeDistributed(L.MaxPooling2D(2)))
    lrcn.add(L.TimeDistributed(L.Flatten()))
    lrcn.add(L.LSTM(64))
    lrcn.add(L.Dense(10, activation="softmax"))
    return {"crnn": crnn, "lrcn": lrcn}


def _conv_products(frames: int, hw: tuple[int, int], chans: list[int], pools: list[tuple[int, int]]):
    """(patches, kernel) pairs: each 3x3 same convolution as one im2col product."""
    h, w = hw
    pairs = []
    for c_in, c_out, (ph, pw) in zip(chans, chans[1:], pools):
        pairs.append((np.ones((frames * h * w, 9 * c_in), np.float32), np.ones((9 * c_in, c_out), np.float32)))
        h, w = h // ph, w // pw
    return pairs


def floor_fn(name: str, batch: int):
    if name == "crnn":
        convs = _conv_products(batch, (32, 128), [1, 32, 64, 128], [(2, 2), (2, 2), (2, 1)])
        rec = [(512, 128), (256, 128)]  # per direction: input projection D -> 4H, recurrent H -> 4H
        steps, dense = 32, (np.ones((batch * 32, 256), np.float32), np.ones((256, 80), np.float32))
    else:
        convs = _conv_products(batch * 16, (64, 64), [3, 16, 32, 64], [(2, 2)] * 3)
        rec = [(8 * 8 * 64, 64)]
        steps, dense = 16, (np.ones((batch, 64), np.float32), np.ones((64, 10), np.float32))
    dirs = 2 if name == "crnn" else 1
    proj = [(np.ones((batch * steps, d), np.float32), np.ones((d, 4 * h), np.float32)) for d, h in rec]
    recs = [(np.ones((batch, h), np.float32), np.ones((h, 4 * h), np.float32)) for _, h in rec]

    def run():
        for a, k in convs:
            a @ k
        for _ in range(dirs):
            for (a, k), (h, r) in zip(proj, recs):
                a @ k
                for _ in range(steps):
                    h @ r
        dense[0] @ dense[1]

    return run


def onnx_export(model, name: str, path: Path) -> str | None:
    """tf2onnx conversion of ``model``; None when it worked, else why not."""
    try:
        import tensorflow as tf
        import tf2onnx
    except ImportError as exc:
        return f"not installed ({exc.name}): pip install 'rnnconvert[bench]'"
    try:
        spec = [tf.TensorSpec((None, *SHAPES[name]), tf.float32, name="x")]

        @tf.function(input_signature=spec)
        def call(x):
            return model(x, training=False)

        tf2onnx.convert.from_function(call, input_signature=spec, opset=17, output_path=str(path))
        return None
    except Exception as exc:  # tf2onnx does not convert every model with every TF release
        return f"tf2onnx failed: {type(exc).__name__}: {str(exc)[:100]}"


def timed(fn, rounds: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def worker(kind: str, work: Path, rounds: int) -> dict:
    out: dict = {}
    for name in SHAPES:
        if kind == "ours":
            from rnnconvert.runtime import load

            model = load(work / name)
            call = model.predict
        elif kind == "keras":
            import keras

            km = keras.saving.load_model(work / f"{name}.keras", compile=False)
            call = lambda x, km=km: km.predict(x, verbose=0)  # noqa: E731
        elif kind == "onnx":
            if not (work / f"{name}.onnx").exists():
                continue
            import onnxruntime as ort

            sess = ort.InferenceSession(str(work / f"{name}.onnx"), providers=["CPUExecutionProvider"])
            call = lambda x, s=sess: s.run(None, {s.get_inputs()[0].name: x})[0]  # noqa: E731
        for batch in BATCHES:
            if kind == "floor":
                out[f"{name}/{batch}"] = {"ms": timed(floor_fn(name, batch), rounds)}
                continue
            x = np.load(work / f"{name}-x{batch}.npy")
            err = float(np.max(np.abs(np.asarray(call(x)) - np.load(work / f"{name}-y{batch}.npy"))))
            out[f"{name}/{batch}"] = {"ms": timed(lambda: call(x), rounds), "err": err}
    return out


def prepare(work: Path, no_onnx: bool) -> dict:
    from rnnconvert.converter import convert

    rng = np.random.default_rng(0)
    notes = {}
    for name, model in build_models().items():
        model.save(work / f"{name}.keras")
        convert(work / f"{name}.keras", work / name)
        for batch in BATCHES:
            x = rng.normal(0, 1, (batch, *SHAPES[name])).astype(np.float32)
            np.save(work / f"{name}-x{batch}.npy", x)
            np.save(work / f"{name}-y{batch}.npy", model.predict(x, verbose=0))
        notes[name] = "skipped (--no-onnx)" if no_onnx else onnx_export(model, name, work / f"{name}.onnx")
    return notes


def run_worker(kind: str, work: Path, rounds: int, one_thread: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, str(work), str(rounds)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if one_thread:  # BLAS on one thread: on a loaded machine its own threads often only contend
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = "1"
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return {k: {**v, "1thread": True} for k, v in out.items()} if one_thread else out


def faster(a: dict, b: dict) -> dict:
    """Per cell, the faster of two runs; a run of BLAS on one thread (``b``'s cells, when it
    is one: see run_worker) stays marked."""
    return {k: a[k] if a[k]["ms"] <= b[k]["ms"] else b[k] for k in a}


def _cell(res: dict, kind: str, key: str) -> str:
    r = res.get(kind, {}).get(key)
    return "n/a" if r is None else f"{r['ms']:.1f}" + ("'" if r.get("1thread") else "")


def report(res: dict, notes: dict) -> None:
    print(
        f"{'model':<6} {'B':>3} {'ours ms':>9} {'keras ms':>9} {'onnx ms':>9} {'floor ms':>9}  keras/ours  ours/onnx  ours/floor"
    )
    for name in SHAPES:
        for batch in BATCHES:
            key = f"{name}/{batch}"
            ours = res["ours"][key]["ms"]
            ratios = []
            for kind, inv in (("keras", True), ("onnx", False), ("floor", False)):
                other = res.get(kind, {}).get(key)
                ratios.append("n/a" if other is None else f"{(other['ms'] / ours if inv else ours / other['ms']):.1f}x")
            cells = [_cell(res, k, key) for k in ("ours", "keras", "onnx", "floor")]
            print(
                f"{name:<6} {batch:>3} "
                + " ".join(f"{c:>9}" for c in cells)
                + "  "
                + "  ".join(f"{r:>9}" for r in ratios)
            )
    for name in SHAPES:
        errs = {
            k: res[k][f"{name}/{b}"]["err"]
            for k in ("ours", "onnx")
            if k in res
            for b in BATCHES[-1:]
            if f"{name}/{b}" in res[k]
        }
        print(
            f"{name}: max |y - keras| "
            + ", ".join(f"{k} {v:.1e}" for k, v in errs.items())
            + (f"; onnx: {notes[name]}" if notes.get(name) else "")
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=10, help="timed calls per cell (the median is shown)")
    ap.add_argument("--no-onnx", action="store_true", help="skip onnxruntime even if installed")
    ap.add_argument(
        "--repeats", type=int, default=3, help="fresh processes per contender, alternated (the fastest run is kept)"
    )
    args = ap.parse_args()
    print(f"load average at start {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        notes = prepare(work, args.no_onnx)
        kinds = ["ours", "floor"] + ([] if all(notes.values()) else ["onnx"])
        res: dict = {}
        for _ in range(args.repeats):  # the contenders alternate, each keeping its fastest run per cell
            for kind in kinds:
                runs = [run_worker(kind, work, args.rounds)]
                if kind in ("ours", "floor"):  # NumPy's BLAS: keep the faster of default and one thread
                    runs.append(run_worker(kind, work, args.rounds, one_thread=True))
                for run in runs:
                    res[kind] = faster(res[kind], run) if kind in res else run
        res["keras"] = run_worker("keras", work, max(2, args.rounds // 3))
    report(res, notes)
    print("' = BLAS on one thread was the faster run for that cell (ours and floor run both ways)")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
