"""Benchmark the rnnconvert runtime against Keras predict, onnxruntime (when installed) and
the NumPy "matmul floor" -- the model's own matrix products timed alone at their real shapes.

    make bench          # or: .venv/bin/python benchmarks/bench.py [--quick]

m1 = LSTM(128, return_sequences) -> LSTM(128) -> Dense(10, softmax), 32 features, T=100.
m2 = Embedding(5000, 64) -> GRU(256) -> Dense(5000, softmax), token ids, T=100.
Prints ms per call at B=1 and B=64, ratios, cold start and peak memory of a fresh process,
the per-step latency of streaming, and bundle sizes. Timings are medians of repeated runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

T = 100


def median_ms(fn, repeat: int, min_time: float = 0.3) -> float:
    fn()  # warm up
    times = []
    start = time.perf_counter()
    while len(times) < repeat or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) > 2000:
            break
    return float(np.median(times) * 1e3)


def build_models():
    import keras

    keras.utils.set_random_seed(0)
    m1 = keras.Sequential(
        [
            keras.Input((None, 32)),
            keras.layers.LSTM(128, return_sequences=True),
            keras.layers.LSTM(128),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    m2 = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(5000, 64),
            keras.layers.GRU(256),
            keras.layers.Dense(5000, activation="softmax"),
        ]
    )
    return {"m1": m1, "m2": m2}


def inputs(name: str, batch: int, rng) -> np.ndarray:
    if name == "m1":
        return rng.normal(0, 1, (batch, T, 32)).astype(np.float32)
    return rng.integers(0, 5000, (batch, T)).astype(np.int32)


def matmul_floor(name: str, model, batch: int) -> float:
    """The model's matrix products alone: input projections once, recurrent products per step."""
    w = model.get_weights()
    if name == "m1":
        k1, r1, _, k2, r2, _, d, _ = w
        x = np.ones((batch * T, 32), np.float32)
        h = np.ones((batch, 128), np.float32)
        y1 = np.ones((batch * T, 128), np.float32)

        def run():
            x @ k1
            for _ in range(T):
                h @ r1
            y1 @ k2
            for _ in range(T):
                h @ r2
            h @ d

    else:
        _, k, r, _, d, _ = w
        x = np.ones((batch * T, 64), np.float32)
        h = np.ones((batch, 256), np.float32)

        def run():
            x @ k
            for _ in range(T):
                h @ r
            h @ d

    return median_ms(run, 20)


def cold_start(bundle: Path, name: str) -> tuple[float, float]:
    code = f"""
import time, numpy as np
t0 = time.perf_counter()
from rnnconvert.runtime import load
m = load({str(bundle)!r})
x = {"np.zeros((1, 100, 32), np.float32)" if name == "m1" else "np.zeros((1, 100), np.int32)"}
m.predict(x)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(time.perf_counter() - t0, int(hwm) / 1024)
"""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    wall = time.perf_counter() - t0
    return wall, float(out[1])


def onnx_session(model, name: str, tmp: Path):
    try:
        import onnxruntime as ort
        import tensorflow as tf
        import tf2onnx
    except ImportError:
        return None
    try:
        spec = (tf.TensorSpec((None, T, 32), tf.float32),) if name == "m1" else (tf.TensorSpec((None, T), tf.int32),)
        path = tmp / f"{name}.onnx"
        tf2onnx.convert.from_keras(model, input_signature=spec, output_path=str(path))
        opts = ort.SessionOptions()
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # tf2onnx does not support every TF release
        print(f"  onnxruntime: n/a for {name} ({type(exc).__name__}: {str(exc)[:80]})")
        return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args()
    from rnnconvert.converter import convert
    from rnnconvert.runtime import load

    rng = np.random.default_rng(0)
    reps = 5 if args.quick else 20
    print(
        f"rnnconvert benchmark — {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}, T={T}, float32"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        for name, model in build_models().items():
            model.save(tmp / f"{name}.keras")
            convert(tmp / f"{name}.keras", tmp / name)
            ours = load(tmp / name)
            sess = onnx_session(model, name, tmp)
            size_src = (tmp / f"{name}.keras").stat().st_size
            size_bundle = sum(p.stat().st_size for p in (tmp / name).iterdir())
            for batch in (1, 64):
                x = inputs(name, batch, rng)
                y_ours = ours.predict(x)
                y_keras = model.predict(x, verbose=0)
                err = float(np.max(np.abs(y_ours - y_keras)))
                t_ours = median_ms(lambda: ours.predict(x), reps)
                t_keras = median_ms(lambda: model.predict(x, verbose=0), max(3, reps // 4))
                t_floor = matmul_floor(name, model, batch)
                t_onnx = None
                if sess is not None:
                    feed = {sess.get_inputs()[0].name: x}
                    t_onnx = median_ms(lambda: sess.run(None, feed), reps)
                rows.append((name, batch, t_ours, t_keras, t_onnx, t_floor, err))
            cold, rss = cold_start(tmp / name, name)
            state = ours.initial_state(1)
            x_t = inputs(name, 1, rng)[:, 0]

            def one_step():
                nonlocal state
                _, state = ours.step(x_t, state)

            step_us = median_ms(one_step, 200) * 1e3
            print(
                f"{name}: cold start {cold * 1e3:.0f} ms, peak RSS {rss:.0f} MiB; streaming step {step_us:.0f} µs; "
                f"bundle {size_bundle / 1e6:.2f} MB vs source {size_src / 1e6:.2f} MB"
            )
    print()
    print(
        "| model | batch | rnnconvert ms | Keras predict ms | onnxruntime ms | matmul floor ms | ours/floor | Keras/ours | max |Δ| vs Keras |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, batch, t_ours, t_keras, t_onnx, t_floor, err in rows:
        onnx = f"{t_onnx:.2f}" if t_onnx is not None else "n/a"
        print(
            f"| {name} | {batch} | {t_ours:.2f} | {t_keras:.1f} | {onnx} | {t_floor:.2f} | {t_ours / t_floor:.2f}× | "
            f"{t_keras / t_ours:.0f}× | {err:.1e} |"
        )


if __name__ == "__main__":
    main()
