"""Benchmark the rnnconvert runtime against Keras predict, onnxruntime (when installed) and
the NumPy "matmul floor" -- the model's own matrix products timed alone at their real shapes.

    make bench                                  # or: .venv/bin/python benchmarks/bench.py
    .venv/bin/python benchmarks/bench.py --quick --no-cold

m1 = LSTM(128, return_sequences) -> LSTM(128) -> Dense(10, softmax), 32 features, T=100.
m2 = Embedding(5000, 64) -> GRU(256) -> Dense(5000, softmax), token ids, T=100.

Prints, in one run: ms per call at B=1 and B=64 for our runtime, Keras ``predict``,
onnxruntime (a tf2onnx conversion; "n/a" when onnxruntime/tf2onnx are not installed or
cannot convert) and the matmul floor, with the ratios between them; cold start (fresh
process -> first prediction) and peak memory of each runtime; the per-step latency of
streaming one timestep at a time; bundle sizes (float32, float16, int8) against the
source file, with the error the smaller storage costs; the peak memory one predict
allocates as the sequence grows (T = 100, 1,000, 10,000), and what 10,000 streaming
steps retain.

Our runtime and the floor are each run with BLAS's default threads and with one thread
(OPENBLAS_NUM_THREADS=1); the table keeps the faster, and both are printed below it.

Timing: each contender (our runtime, the matmul floor, onnxruntime, Keras) runs in its own
fresh process -- TensorFlow's and onnxruntime's thread pools, and OpenBLAS's own threads,
keep spinning for a while after a call and would tax whoever runs next in the same
process. The workers run alternately, --repeat times; the table shows, per cell, the best
of their medians. The load average is printed: on a shared machine, read ratios.

BLAS: the header names the BLAS library and the kernel it runs (via threadpoolctl, when
installed -- a benchmark-only tool, never a runtime dependency). OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE, which some machines set to work around old OpenBLAS builds and which
slow a current one, are unset together for this command only (the script re-executes
itself without them; --keep-openblas-env keeps them). Tests and CI never change them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _reexec_without_openblas_overrides() -> list[str]:
    """Drop the OpenBLAS kernel overrides before NumPy loads; returns what was dropped."""
    if "--keep-openblas-env" in sys.argv or os.environ.get("RNNCONVERT_BENCH_REEXEC"):
        return json.loads(os.environ.get("RNNCONVERT_BENCH_REEXEC", "[]"))
    dropped = [f"{k}={os.environ[k]}" for k in OPENBLAS_VARS if k in os.environ]
    if not dropped:
        return []
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}
    env["RNNCONVERT_BENCH_REEXEC"] = json.dumps(dropped)
    os.execve(sys.executable, [sys.executable, *sys.argv], env)
    return dropped  # not reached


DROPPED_ENV = _reexec_without_openblas_overrides()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

T = 100
SHAPES = {"m1": (T, 32), "m2": (T,)}


# -- models ---------------------------------------------------------------------------
def m1_model(keras):
    """m1, the recurrent workload every benchmark here shares (bench_scoring.py too)."""
    return keras.Sequential(
        [
            keras.Input((None, 32)),
            keras.layers.LSTM(128, return_sequences=True),
            keras.layers.LSTM(128),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def build_models() -> dict:
    import keras

    keras.utils.set_random_seed(0)
    m1 = m1_model(keras)
    m2 = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(5000, 64),
            keras.layers.GRU(256),
            keras.layers.Dense(5000, activation="softmax"),
        ]
    )
    return {"m1": m1, "m2": m2}


def inputs(name: str, batch: int, rng: np.random.Generator) -> np.ndarray:
    if name == "m1":
        return rng.normal(0, 1, (batch, T, 32)).astype(np.float32)
    return rng.integers(0, 5000, (batch, T)).astype(np.int32)


def matmul_floor(name: str, weights: list[np.ndarray], batch: int):
    """The model's matrix products alone: input projections once, recurrent products per step."""
    if name == "m1":
        k1, r1, _, k2, r2, _, d, _ = weights
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

        return run
    _, k, r, _, d, _ = weights
    x = np.ones((batch * T, 64), np.float32)
    h = np.ones((batch, 256), np.float32)

    def run():
        x @ k
        for _ in range(T):
            h @ r
        h @ d

    return run


def onnx_session(model, name: str, tmp: Path):
    """An onnxruntime session for ``model`` via tf2onnx, or (None, why)."""
    try:
        import onnxruntime as ort
        import tensorflow as tf
        import tf2onnx
    except ImportError as exc:
        return None, f"not installed ({exc.name})"
    try:
        dtype = tf.float32 if name == "m1" else tf.int32
        spec = [tf.TensorSpec((None, *SHAPES[name]), dtype, name="x")]

        @tf.function(input_signature=spec)
        def call(x):
            return model(x, training=False)

        path = tmp / f"{name}.onnx"
        tf2onnx.convert.from_function(call, input_signature=spec, opset=17, output_path=str(path))
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]), str(path)
    except Exception as exc:  # tf2onnx does not convert every model with every TF release
        return None, f"tf2onnx failed: {type(exc).__name__}: {str(exc)[:100]}"


# -- measuring ------------------------------------------------------------------------
def interleaved(fns: dict, rounds: int, min_seconds: float) -> dict[str, float]:
    """Median ms per call of each function, timed in alternation."""
    for fn in fns.values():
        fn()  # warm up
    times: dict[str, list[float]] = {k: [] for k in fns}
    start = time.perf_counter()
    while min(len(v) for v in times.values()) < rounds or time.perf_counter() - start < min_seconds:
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
        if len(times[next(iter(times))]) >= 20 * rounds:
            break
    return {k: statistics.median(v) * 1e3 for k, v in times.items()}


COLD_CODE = {
    "rnnconvert": """
from rnnconvert.runtime import load
m = load(ARG)
m.predict(X)
""",
    "keras": """
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
m = keras.saving.load_model(ARG, compile=False)
m.predict(X, verbose=0)
""",
    "onnxruntime": """
import onnxruntime as ort
s = ort.InferenceSession(ARG, providers=["CPUExecutionProvider"])
s.run(None, {s.get_inputs()[0].name: X})
""",
}


def cold_start(kind: str, arg: str, name: str, repeat: int) -> tuple[float, float]:
    """Median seconds from process launch to the first prediction, and the peak RSS (MiB)."""
    x = "np.zeros((1, 100, 32), np.float32)" if name == "m1" else "np.zeros((1, 100), np.int32)"
    code = (
        "import time, numpy as np\nX = " + x + "\nARG = " + repr(arg) + COLD_CODE[kind] + "print(time.time())\n"
        "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n"
    )
    # As after an install: bytecode compiled (into a cache of our own, so the source tree
    # stays clean and `make`'s PYTHONDONTWRITEBYTECODE does not turn every start into a compile).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if kind == "rnnconvert":  # an editable install: its bytecode would land in the source tree
        env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "rnnconvert-bench-pycache")
    subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True)  # warm the cache
    walls, peaks = [], []
    for _ in range(repeat):
        t0 = time.time()
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        ).stdout.split()
        walls.append(float(out[-2]) - t0)
        peaks.append(int(out[-1]) / 1024)  # VmHWM: this process's own peak, not inherited
    return statistics.median(walls), max(peaks)


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: (install threadpoolctl to name the kernel)"
    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return "BLAS: " + "; ".join(
        f"{i.get('internal_api')} {i.get('version')} kernel {i.get('architecture')}, {i.get('num_threads')} threads"
        for i in libs
    )


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir())


# -- workers: each contender is timed in its own fresh process ---------------------------
# (TensorFlow's and onnxruntime's thread pools keep spinning after a call; sharing a process
# with them would slow NumPy's BLAS threads and misstate everyone's numbers.)
def worker_ours(work: Path, rounds: int, min_seconds: float) -> dict:
    from rnnconvert.runtime import load

    out: dict = {}
    for name in ("m1", "m2"):
        ours = load(work / f"{name}-float32")
        for batch in (1, 64):
            x = np.load(work / f"{name}-x{batch}.npy")
            y = np.load(work / f"{name}-keras-y{batch}.npy")
            err = float(np.max(np.abs(ours.predict(x) - y)))
            t = interleaved(
                {"ours": lambda: ours.predict(x)}, rounds if batch == 1 else max(5, rounds // 3), min_seconds
            )
            out[f"{name}/{batch}"] = {**t, "err": err}
        # streaming: one timestep per call, batch 1, from a fresh state
        seq = np.load(work / f"{name}-x1.npy")
        state = ours.initial_state(1)
        times = []
        for k in range(5 * T):
            x_t = seq[:, k % T]
            t0 = time.perf_counter()
            _, state = ours.step(x_t, state)
            times.append(time.perf_counter() - t0)
        out[f"{name}/step_us"] = statistics.median(times[T:]) * 1e6
    return out


def worker_floor(work: Path, rounds: int, min_seconds: float) -> dict:
    out: dict = {}
    for name in ("m1", "m2"):
        with np.load(work / f"{name}-weights.npz") as npz:
            weights = [npz[f"w{i}"] for i in range(len(npz.files))]
        for batch in (1, 64):
            run = matmul_floor(name, weights, batch)
            out[f"{name}/{batch}"] = interleaved(
                {"floor": run}, rounds if batch == 1 else max(5, rounds // 3), min_seconds
            )
    return out


def worker_onnx(work: Path, rounds: int, min_seconds: float) -> dict:
    import onnxruntime as ort

    out: dict = {}
    for name in ("m1", "m2"):
        path = work / f"{name}.onnx"
        if not path.exists():
            continue
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        for batch in (1, 64):
            x = np.load(work / f"{name}-x{batch}.npy")
            y = np.load(work / f"{name}-keras-y{batch}.npy")
            feed = {sess.get_inputs()[0].name: x}
            err = float(np.max(np.abs(sess.run(None, feed)[0] - y)))
            t = interleaved(
                {"onnx": lambda: sess.run(None, feed)}, rounds if batch == 1 else max(5, rounds // 3), min_seconds
            )
            out[f"{name}/{batch}"] = {**t, "err_onnx": err}
    return out


def worker_keras(work: Path, rounds: int, min_seconds: float) -> dict:
    import keras

    out: dict = {}
    for name in ("m1", "m2"):
        model = keras.saving.load_model(work / f"{name}.keras", compile=False)
        for batch in (1, 64):
            x = np.load(work / f"{name}-x{batch}.npy")
            t = interleaved({"keras": lambda: model.predict(x, verbose=0)}, max(3, rounds // 5), min_seconds / 2)
            out[f"{name}/{batch}"] = t
    return out


def worker_memory(work: Path, rounds: int, min_seconds: float) -> dict:
    """Peak memory NumPy allocates in one ``predict`` (tracemalloc sees NumPy's buffers),
    as the sequence grows, and across a long run of streaming steps."""
    import tracemalloc

    from rnnconvert.runtime import load

    rng = np.random.default_rng(1)
    out: dict = {}
    for name in ("m1", "m2"):
        model = load(work / f"{name}-float32")
        for batch in (1, 64):
            for length in (100, 1000, 10000):
                if name == "m1":
                    x = rng.normal(0, 1, (batch, length, 32)).astype(np.float32)
                else:
                    x = rng.integers(0, 5000, (batch, length)).astype(np.int32)
                model.predict(x[:, :10])  # first-call caches out of the measurement
                tracemalloc.start()
                y = model.predict(x)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                out[f"{name}/{batch}/T{length}"] = {"peak_mib": peak / 2**20, "in_mib": x.nbytes / 2**20}
                del x, y
        seq = rng.normal(0, 1, (1, 32)).astype(np.float32) if name == "m1" else np.array([7], np.int32)
        state = model.initial_state(1)
        tracemalloc.start()
        for _ in range(2000):  # NumPy's and Python's small-object caches fill up here
            _, state = model.step(seq, state)
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(10000):
            _, state = model.step(seq, state)
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out[f"{name}/stream"] = {"growth_kib": (current - base) / 1024, "peak_kib": (peak - base) / 1024}
    return out


WORKERS = {
    "ours": worker_ours,
    "floor": worker_floor,
    "onnx": worker_onnx,
    "keras": worker_keras,
    "memory": worker_memory,
}


def best_of(runs: list[dict]) -> dict:
    """Per measurement, the lowest median over repeated worker runs (transient load only adds)."""
    out: dict = {}
    for run in runs:
        for key, val in run.items():
            if isinstance(val, dict):
                cur = out.setdefault(key, {})
                for k, v in val.items():
                    cur[k] = min(cur.get(k, v), v) if not k.startswith("err") else v
            else:
                out[key] = min(out.get(key, val), val)
    return out


def run_worker(kind: str, work: Path, rounds: int, min_seconds: float) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind.split(":")[0], str(work), str(rounds), str(min_seconds)]
    env = dict(os.environ)
    if kind.endswith(":1thread"):  # the same products with BLAS on one thread
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = "1"
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- main -------------------------------------------------------------------------------
def prepare(work: Path, no_onnx: bool) -> tuple[dict, dict, dict]:
    """Build, save and convert the models; inputs and Keras's outputs for the workers."""
    from rnnconvert.converter import convert

    rng = np.random.default_rng(0)
    sizes: dict = {}
    qerr: dict = {}
    onnx_notes: dict = {}
    for name, model in build_models().items():
        src = work / f"{name}.keras"
        model.save(src)
        sizes[name] = {"source .keras": src.stat().st_size}
        qerr[name] = {}
        for dtype in ("float32", "float16", "int8"):
            result = convert(src, work / f"{name}-{dtype}", dtype=dtype)
            sizes[name][f"bundle {dtype}"] = dir_size(work / f"{name}-{dtype}")
            if dtype != "float32":
                qerr[name][dtype] = max(result.doc["test_vectors"]["quantization_error"])
        np.savez(work / f"{name}-weights.npz", **{f"w{i}": w for i, w in enumerate(model.get_weights())})
        for batch in (1, 64):
            x = inputs(name, batch, rng)
            np.save(work / f"{name}-x{batch}.npy", x)
            np.save(work / f"{name}-keras-y{batch}.npy", model.predict(x, verbose=0))
        if no_onnx:
            onnx_notes[name] = "skipped (--no-onnx)"
        else:
            sess, note = onnx_session(model, name, work)
            onnx_notes[name] = None if sess is not None else note
    return sizes, qerr, onnx_notes


def _targets(res: dict, keras_t: dict, onnx_t: dict, cold: dict) -> list[str]:
    """The performance targets the runtime is held to, each with this run's number."""

    def mark(ok: bool | None) -> str:
        return "n/a" if ok is None else ("met" if ok else "NOT met")

    lines = []
    for batch, bound in ((1, 2.0), (64, 1.2)):
        r = res[f"m1/{batch}"]["ours"] / res[f"m1/{batch}"]["floor"]
        lines.append(f"m1 B={batch} <= {bound}x the matmul floor: {r:.2f}x, {mark(r <= bound)}")
    for batch in (1, 64):
        o = onnx_t.get(f"m2/{batch}", {}).get("onnx")
        ours = res[f"m2/{batch}"]["ours"]
        got = f"{ours:.2f} vs {o:.2f} ms" if o is not None else f"{ours:.2f} ms, onnxruntime n/a"
        lines.append(f"m2 B={batch} faster than onnxruntime: {got}, {mark(None if o is None else ours < o)}")
    for name in ("m1", "m2"):
        r = keras_t[f"{name}/1"]["keras"] / res[f"{name}/1"]["ours"]
        lines.append(f"{name} B=1 >= 35x faster than Keras predict: {r:.0f}x, {mark(r >= 35)}")
    if cold:
        s, mib = cold["m1"]["rnnconvert"]
        lines.append(f"m1 cold start <= 0.3 s and <= 60 MiB: {s:.2f} s, {mib:.0f} MiB, {mark(s <= 0.3 and mib <= 60)}")
    step = res["m1/step_us"]
    lines.append(f"m1 streaming step <= 25 us: {step:.0f} us, {mark(step <= 25)}")
    return lines


def _parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds (noisier)")
    ap.add_argument("--no-cold", action="store_true", help="skip the fresh-process cold-start measurements")
    ap.add_argument("--no-onnx", action="store_true", help="skip onnxruntime even if installed")
    ap.add_argument("--keep-openblas-env", action="store_true", help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE")
    ap.add_argument("--repeat", type=int, default=2, help="worker runs per contender; the best median is kept")
    return ap.parse_args()


def _print_header(repeat: int) -> None:
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"rnnconvert benchmark — {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, {platform.machine()}, {platform.system()}; "
        f"Python {platform.python_version()}, NumPy {np.__version__}"
    )
    print(blas_info())
    if DROPPED_ENV:
        print(f"unset for this run: {', '.join(DROPPED_ENV)}")
    print(
        f"T={T}, float32; each contender timed in its own process, best median of {repeat} runs; "
        f"load average at start {load0:.2f}"
    )


def _measure(args: argparse.Namespace, rounds: int, min_seconds: float) -> dict:
    """Every measurement of the run, by name (see the prints in ``main``)."""
    r: dict = {}
    with tempfile.TemporaryDirectory() as tmpd:
        work = Path(tmpd)
        r["sizes"], r["qerr"], r["onnx_notes"] = prepare(work, args.no_onnx)
        # Separate processes, alternated: ours, floor, onnxruntime, ours, floor, ... (an idle
        # BLAS thread of one contender still spins for a while and would tax the next).
        # Ours and the floor: the faster of BLAS's default threads and one thread (on a busy
        # machine a threaded product can wait milliseconds for its second thread).
        kinds = ["ours", "ours:1thread", "floor", "floor:1thread"]
        kinds += ["onnx"] if any(v is None for v in r["onnx_notes"].values()) else []
        runs: dict[str, list[dict]] = {k: [] for k in kinds}
        for _ in range(args.repeat):
            for kind in kinds:
                runs[kind].append(run_worker(kind, work, rounds, min_seconds))
        r["res"] = best_of(runs["ours"] + runs["ours:1thread"])
        r["ours_default"], r["ours_one"] = best_of(runs["ours"]), best_of(runs["ours:1thread"])
        floor_t = best_of(runs["floor"] + runs["floor:1thread"])
        r["floor_default"], r["floor_one"] = best_of(runs["floor"]), best_of(runs["floor:1thread"])
        r["onnx_t"] = best_of(runs["onnx"]) if "onnx" in runs else {}
        for key, val in floor_t.items():
            r["res"][key].update(val)
        r["keras_t"] = run_worker("keras", work, rounds, min_seconds)
        r["memory"] = run_worker("memory", work, rounds, min_seconds)
        r["cold"] = {} if args.no_cold else _cold_starts(work, r["onnx_notes"])
    return r


def _cold_starts(work: Path, onnx_notes: dict) -> dict:
    cold: dict = {}
    for name in ("m1", "m2"):
        cold[name] = {"rnnconvert": cold_start("rnnconvert", str(work / f"{name}-float32"), name, 5)}
        cold[name]["Keras"] = cold_start("keras", str(work / f"{name}.keras"), name, 1)
        if onnx_notes[name] is None:
            cold[name]["onnxruntime"] = cold_start("onnxruntime", str(work / f"{name}.onnx"), name, 3)
    return cold


def _print_table(r: dict) -> None:
    res, keras_t, onnx_t = r["res"], r["keras_t"], r["onnx_t"]
    print(
        "| model | batch | rnnconvert ms | Keras predict ms | onnxruntime ms | matmul floor ms "
        "| ours / floor | Keras / ours | onnxruntime / ours | max |Δ| vs Keras |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in ("m1", "m2"):
        for batch in (1, 64):
            t = res[f"{name}/{batch}"]
            k = keras_t[f"{name}/{batch}"]["keras"]
            o = onnx_t.get(f"{name}/{batch}", {}).get("onnx")
            onnx = f"{o:.2f}" if o is not None else "n/a"
            onnx_ratio = f"{o / t['ours']:.2f}×" if o is not None else "n/a"
            print(
                f"| {name} | {batch} | {t['ours']:.2f} | {k:.1f} | {onnx} | {t['floor']:.2f} "
                f"| {t['ours'] / t['floor']:.2f}× | {k / t['ours']:.0f}× | {onnx_ratio} | {t['err']:.1e} |"
            )
    print()
    for label, d, o, key in (
        ("rnnconvert", r["ours_default"], r["ours_one"], "ours"),
        ("matmul floor", r["floor_default"], r["floor_one"], "floor"),
    ):
        print(
            f"{label}, BLAS default threads / one thread (ms): "
            + ", ".join(f"{k} {d[k][key]:.2f} / {o[k][key]:.2f}" for k in ("m1/1", "m1/64", "m2/1", "m2/64"))
        )


def _print_model_notes(r: dict) -> None:
    res, onnx_t, onnx_notes, cold = r["res"], r["onnx_t"], r["onnx_notes"], r["cold"]
    for name in ("m1", "m2"):
        line = f"{name}: streaming one timestep (batch 1) {res[f'{name}/step_us']:.0f} µs per step"
        if onnx_notes[name] is not None:
            line += f"; onnxruntime n/a: {onnx_notes[name]}"
        else:
            errs = [onnx_t[f"{name}/{b}"]["err_onnx"] for b in (1, 64)]
            line += f"; onnxruntime max |Δ| vs Keras {max(errs):.1e}"
        print(line)
        if cold:
            print(
                f"{name}: cold start (fresh process -> first prediction) / peak RSS: "
                + ", ".join(f"{k} {s * 1e3:.0f} ms / {m:.0f} MiB" for k, (s, m) in cold[name].items())
            )
        print(
            f"{name}: sizes "
            + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in r["sizes"][name].items())
            + "; storage error (max |Δ| vs the float32 outputs) "
            + ", ".join(f"{k} {v:.1e}" for k, v in r["qerr"][name].items())
        )


def _print_memory(memory: dict) -> None:
    print("Memory: peak NumPy allocation of one predict (tracemalloc), by sequence length T (input size in brackets)")
    for name in ("m1", "m2"):
        for batch in (1, 64):
            cells = [
                f"T={n}: {memory[f'{name}/{batch}/T{n}']['peak_mib']:.1f} MiB "
                f"[{memory[f'{name}/{batch}/T{n}']['in_mib']:.1f}]"
                for n in (100, 1000, 10000)
            ]
            print(f"  {name} batch {batch}: " + ", ".join(cells))
        st = memory[f"{name}/stream"]
        print(
            f"  {name} streaming: over 10,000 steps (after 2,000), {st['growth_kib']:+.1f} KiB retained, "
            f"{st['peak_kib']:.1f} KiB peak above the start"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, work, rounds, min_seconds = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
        print(json.dumps(WORKERS[kind](work, rounds, min_seconds)))
        return
    args = _parse_args()
    rounds, min_seconds = (8, 1.0) if args.quick else (30, 3.0)
    _print_header(args.repeat)
    r = _measure(args, rounds, min_seconds)
    print()
    _print_table(r)
    _print_model_notes(r)
    print()
    _print_memory(r["memory"])
    print()
    print("Issue 6 targets (this run):")
    for line in _targets(r["res"], r["keras_t"], r["onnx_t"], r["cold"]):
        print("  " + line)
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at end {load1:.2f}")


if __name__ == "__main__":
    main()
