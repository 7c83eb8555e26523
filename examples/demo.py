"""Run the converted example model with the NumPy runtime and compare it with Keras.

    python examples/demo.py BUNDLE_DIR

Needs only NumPy and rnnconvert (no TensorFlow). Exits 1 if our probabilities differ
from the ones Keras recorded by more than 1e-5 * max(1, max|y|).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from rnnconvert.runtime import load

HERE = Path(__file__).parent / "charlstm"


def main(bundle: str) -> int:
    model = load(bundle)
    vocab = json.loads((HERE / "vocab.json").read_text())
    ref = np.load(HERE / "reference.npz")
    x, expected = ref["inputs"], ref["outputs"]
    print(model)
    t0 = time.perf_counter()
    probs = model.predict(x)
    ms = (time.perf_counter() - t0) * 1e3
    for row, p in zip(x, probs):
        seed = "".join(vocab[i] for i in row)
        top = np.argsort(-p)[:3]
        guesses = ", ".join(f"{vocab[i]!r} {p[i]:.2f}" for i in top)
        print(f"  {seed!r} -> {guesses}")
    diff = float(np.max(np.abs(probs - expected)))
    tol = 1e-5 * max(1.0, float(np.max(np.abs(expected))))
    print(f"max |rnnconvert - keras| = {diff:.2e} (tolerance {tol:.0e}); {len(x)} sequences in {ms:.1f} ms")

    # Generation, streaming one character at a time through the recurrent state
    # (temperature 0.5 sampling with a fixed seed, so the demo prints the same text each run).
    index = {c: i for i, c in enumerate(vocab)}
    text = "".join(vocab[i] for i in x[0])
    state = model.initial_state(1)
    y, state = model.step(np.array([[index[c] for c in text]], dtype=np.int32), state)
    rng = np.random.default_rng(0)
    for _ in range(200):
        logits = np.log(np.maximum(y[0].astype(np.float64), 1e-12)) / 0.5
        p = np.exp(logits - logits.max())
        nxt = vocab[int(rng.choice(len(vocab), p=p / p.sum()))]
        text += nxt
        y, state = model.step(np.array([index[nxt]], dtype=np.int32), state)
    print("generated (sampled at temperature 0.5, streamed step by step):")
    print("  " + text.replace("\n", "\n  "))
    if diff > tol:
        print("FAIL: the converted model does not match Keras", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/charlstm-bundle"))
