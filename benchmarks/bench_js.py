"""Driver of the JavaScript benchmark: builds and converts m1 and m2 (as benchmarks/bench.py),
times the NumPy runtime on the same calls, runs ``node benchmarks/bench_js.mjs`` and prints
one table: ms per call (median), GFLOP/s, and the ratios the JavaScript runtime is held to.

    .venv/bin/python benchmarks/bench_js.py [--quick] [--work DIR]

Needs Node >= 18; TensorFlow.js columns need ``npm ci`` in benchmarks/js (benchmark-only).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

T = 100


def _median_ms(fn, min_seconds: float) -> float:
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < min_seconds and len(times) < 200):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def prepare(work: Path) -> None:
    from bench import build_models

    from rnnconvert.converter import convert

    for name, model in build_models().items():
        if not (work / f"{name}-float32" / "model.json").exists():
            convert(model, work / f"{name}-float32", force=True)


def numpy_times(work: Path, min_seconds: float) -> dict:
    from rnnconvert.runtime import load

    rng = np.random.default_rng(1)
    out: dict = {}
    for name in ("m1", "m2"):
        model = load(work / f"{name}-float32")
        for batch in (1, 64):
            if name == "m1":
                x = rng.normal(0, 1, (batch, T, 32)).astype(np.float32)
            else:
                x = rng.integers(0, 5000, (batch, T)).astype(np.int32)
            out[f"{name}/{batch}"] = _median_ms(lambda: model.predict(x), min_seconds)
        one = np.full((1, 32), 0.1, np.float32) if name == "m1" else np.array([7], np.int32)
        state = [model.initial_state(1)]

        def step() -> None:
            state[0] = model.step(one, state[0])[1]

        out[f"{name}/stream"] = _median_ms(step, min_seconds)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short timing windows (a shared machine)")
    p.add_argument("--work", type=Path, help="where the bundles go (default: a temporary directory)")
    args = p.parse_args()
    node = shutil.which("node")
    if node is None:
        print("bench_js: node (>= 18) is not on PATH", file=sys.stderr)
        return 1
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-js-"))
    work.mkdir(parents=True, exist_ok=True)
    prepare(work)
    min_s = 0.3 if args.quick else 1.5
    py = numpy_times(work, min_s)
    cmd = [node, str(HERE / "bench_js.mjs"), str(work)] + (["--quick"] if args.quick else [])
    run = subprocess.run(cmd, capture_output=True, text=True, check=False, env={**os.environ})
    if run.returncode:
        print(run.stderr, file=sys.stderr)
        return 1
    js = json.loads(run.stdout.strip().splitlines()[-1])
    load1 = os.getloadavg()[0]
    print(f"Node {js['node']}, NumPy {np.__version__}; load average {load1:.2f}; medians, ms per call (GFLOP/s)")
    cols = ["js", "js-plain", "floor", "numpy", "tfjs-cpu", "tfjs-wasm"]
    print(f"{'':8}" + "".join(f"{c:>20}" for c in cols) + f"{'js/floor':>10}{'tfjs-cpu/js':>13}")
    for key, row in js["rows"].items():
        row = {**row, "numpy": py[key]}
        gf = js["flops"][key] / 1e9

        def cell(c: str, row: dict = row, gf: float = gf) -> str:
            v = row.get(c)
            return f"{v:10.2f} ({gf / (v / 1e3):5.2f})" if isinstance(v, (int, float)) else f"{'n/a':>18}"

        ratio = row["js"] / row["floor"]
        vs = row.get("tfjs-cpu")
        print(
            f"{key:8}"
            + "".join(f"{cell(c):>20}" for c in cols)
            + f"{ratio:10.2f}"
            + (f"{vs / row['js']:13.2f}" if vs else f"{'n/a':>13}")
        )
    for key, r in js.get("cpuRatio", {}).items():
        print(
            f"{key}: js / floor by CPU time, calls in alternation: {r['js_cpu_ms']:.2f} / {r['floor_cpu_ms']:.2f} ms "
            f"= {r['ratio']:.2f}x (medians)"
        )
    for name in ("m1", "m2"):
        print(
            f"{name} streaming step (B=1): js {js['stream'][name] * 1e3:.0f} us, numpy {py[name + '/stream'] * 1e3:.0f} us"
        )
        c = js["cold"][name]
        print(
            f"{name} cold start in a fresh Node process: import+load {c['load_ms']:.1f} ms, "
            f"first call {c['first_call_ms']:.1f} ms, total {c['total_ms']:.1f} ms; CPU time "
            f"{c['load_cpu_ms']:.1f} + {c['first_call_cpu_ms']:.1f} = {c['total_cpu_ms']:.1f} ms (medians)"
        )
    for key, row in js["rows"].items():
        for k, v in row.items():
            if k.endswith("max-diff"):
                print(f"{key}: {k} (ours vs tfjs, same weights) = {v:.2e}")
    for note in js["notes"]:
        print("note:", note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
